package graph

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/graph/model"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Second factors (docs/second-factors.md). The work is in
// tenants/secondfactor.go; these resolvers map it to the schema.

type relyingPartyKey struct{}

// withRelyingParty records who WebAuthn credentials are bound to: the
// configured public URL, or else the scheme and host the request came
// with (a browser signs the origin it really is on, and a credential made
// for one host name is never offered to another).
func withRelyingParty(ctx context.Context, publicURL, host string, secure bool) context.Context {
	base := publicURL
	if base == "" {
		scheme := "http"
		if secure {
			scheme = "https"
		}
		base = scheme + "://" + host
	}
	rp, err := tenants.RelyingPartyFor(base)
	if err != nil {
		return ctx
	}
	return context.WithValue(ctx, relyingPartyKey{}, rp)
}

func relyingParty(ctx context.Context) tenants.RelyingParty {
	rp, _ := ctx.Value(relyingPartyKey{}).(tenants.RelyingParty)
	return rp
}

// authAnswer turns a sign-in's outcome into the answer: a session (and its
// cookie), or the challenge of a second factor still needed.
func authAnswer(ctx context.Context, token string, p *tenants.Principal, err error) (*model.AuthPayload, error) {
	var need *tenants.SecondFactorNeeded
	if errors.As(err, &need) {
		methods := make([]model.SecondFactorMethod, len(need.Methods))
		for i, m := range need.Methods {
			methods[i] = model.SecondFactorMethod(strings.ToUpper(m))
		}
		return &model.AuthPayload{Site: need.Site, User: userOf(&need.User, p.Role),
			SecondFactor: &model.SecondFactorChallenge{Token: need.Challenge, Methods: methods, ExpiresAt: need.ExpiresAt}}, nil
	}
	if err != nil {
		return nil, err
	}
	setSession(ctx, token, false)
	return &model.AuthPayload{Token: token, Site: p.Site, User: userOf(&p.User, p.Role)}, nil
}

func factorOf(f *tenants.SecondFactor) *model.SecondFactor {
	return &model.SecondFactor{ID: f.ID.String(), Kind: model.SecondFactorMethod(strings.ToUpper(f.Kind)), Name: f.Name, CreatedAt: f.CreatedAt, LastUsed: f.LastUsed}
}

// allowedWhileEnrolling are the root fields a member who must enrol a
// second factor may still use.
var allowedWhileEnrolling = map[string]bool{
	"secondFactors": true, "beginTotpEnrolment": true, "confirmTotpEnrolment": true, "beginPasskeyRegistration": true,
	"finishPasskeyRegistration": true, "changePassword": true, "logout": true, "me": true, "site": true, "csrfToken": true,
	"__typename": true, "__schema": true, "__type": true,
}

func (r *Resolver) secondFactors(ctx context.Context) (*model.SecondFactorStatus, error) {
	p, err := tenants.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	st, err := r.Tenants.SecondFactors(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	out := &model.SecondFactorStatus{Factors: []*model.SecondFactor{}, RecoveryCodesLeft: st.RecoveryCodesLeft, SiteRequired: st.SiteRequires,
		MustEnrol: st.SiteRequires && len(st.Factors) == 0}
	for _, f := range st.Factors {
		out.Factors = append(out.Factors, factorOf(f))
	}
	return out, nil
}

func (r *Resolver) beginTotpEnrolment(ctx context.Context, name *string) (*model.TotpEnrolment, error) {
	p, err := tenants.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	e, err := r.Tenants.BeginTOTP(ctx, p, deref(name, ""))
	if err != nil {
		return nil, err
	}
	auditTarget(ctx, e.ID.String())
	return &model.TotpEnrolment{ID: e.ID.String(), Secret: e.Secret, URI: e.URI, QRCode: "data:image/png;base64," + base64.StdEncoding.EncodeToString(e.QRCode)}, nil
}

func parseFactorID(id string) (uuid.UUID, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return uuid.Nil, errs.E(errs.NotFound, "no second factor with id %q", id)
	}
	return u, nil
}

func (r *Resolver) confirmTotpEnrolment(ctx context.Context, id, code string) (*model.SecondFactorEnrolled, error) {
	p, err := tenants.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	fid, err := parseFactorID(id)
	if err != nil {
		return nil, err
	}
	codes, err := r.Tenants.ConfirmTOTP(ctx, p, fid, code)
	if err != nil {
		return nil, err
	}
	st, err := r.Tenants.SecondFactors(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	for _, f := range st.Factors {
		if f.ID == fid {
			return &model.SecondFactorEnrolled{Factor: factorOf(f), RecoveryCodes: codes}, nil
		}
	}
	return nil, errs.E(errs.NotFound, "no second factor with id %q", id)
}

func (r *Resolver) beginPasskeyRegistration(ctx context.Context) (*model.PasskeyRegistration, error) {
	p, err := tenants.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	opts, token, err := r.Tenants.BeginPasskeyRegistration(ctx, p, relyingParty(ctx))
	if err != nil {
		return nil, err
	}
	return &model.PasskeyRegistration{Token: token, Options: string(opts)}, nil
}

func (r *Resolver) finishPasskeyRegistration(ctx context.Context, token string, name *string, response string) (*model.SecondFactorEnrolled, error) {
	p, err := tenants.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	f, codes, err := r.Tenants.FinishPasskeyRegistration(ctx, p, relyingParty(ctx), token, deref(name, ""), []byte(response))
	if err != nil {
		return nil, err
	}
	auditTarget(ctx, f.Name)
	return &model.SecondFactorEnrolled{Factor: factorOf(f), RecoveryCodes: codes}, nil
}

func (r *Resolver) removeSecondFactor(ctx context.Context, id string, password *string) (bool, error) {
	p, err := tenants.PrincipalFrom(ctx)
	if err != nil {
		return false, err
	}
	fid, err := parseFactorID(id)
	if err != nil {
		return false, err
	}
	f, err := r.Tenants.RemoveSecondFactor(ctx, p, fid, deref(password, ""))
	if err != nil {
		return false, err
	}
	auditTarget(ctx, f.Kind+":"+f.Name)
	return true, nil
}

func (r *Resolver) regenerateRecoveryCodes(ctx context.Context) ([]string, error) {
	p, err := tenants.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	return r.Tenants.RegenerateRecoveryCodes(ctx, p)
}

func (r *Resolver) resetSecondFactors(ctx context.Context, userID string) (int, error) {
	if _, err := admin(ctx); err != nil {
		return 0, err
	}
	uid, err := uuid.Parse(userID)
	if err != nil {
		return 0, errs.E(errs.NotFound, "no member %q in this site", userID)
	}
	return r.Tenants.ResetSecondFactors(ctx, uid)
}

func (r *Resolver) setRequireSecondFactor(ctx context.Context, required bool) (bool, error) {
	if _, err := admin(ctx); err != nil {
		return false, err
	}
	if err := r.Tenants.SetRequireSecondFactor(ctx, required); err != nil {
		return false, err
	}
	return required, nil
}

func (r *Resolver) beginPasskeySignIn(ctx context.Context, challenge string) (string, error) {
	opts, err := r.Tenants.BeginPasskeySignIn(ctx, challenge, relyingParty(ctx))
	return string(opts), err
}

func (r *Resolver) finishSignIn(ctx context.Context, challenge string, method model.SecondFactorMethod, code, response *string) (*model.AuthPayload, error) {
	proof := tenants.SecondFactorProof{Method: strings.ToLower(string(method)), Code: deref(code, ""), WebAuthn: []byte(deref(response, "")), RP: relyingParty(ctx)}
	token, p, err := r.Tenants.FinishSignIn(ctx, challenge, proof)
	return authAnswer(ctx, token, p, err)
}
