package graph

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/graph/model"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// node builds a configuration element.
func node(elem string, attrs ...string) *config.Node {
	n := &config.Node{Element: elem}
	for i := 0; i+1 < len(attrs); i += 2 {
		if attrs[i+1] != "" {
			n.SetAttr(attrs[i], attrs[i+1])
		}
	}
	return n
}

func textChild(n *config.Node, elem, text string) {
	if text != "" {
		n.Children = append(n.Children, &config.Node{Element: elem, Text: text})
	}
}

func params(n *config.Node, ps []*model.ParameterInput) {
	for _, p := range ps {
		n.Children = append(n.Children, &config.Node{Element: "parameter", Attrs: []config.Attr{{Name: "name", Value: p.Name}}, Text: p.Value})
	}
}

func writeNode(b *bytes.Buffer, n *config.Node) {
	b.WriteString("<" + n.Element)
	for _, a := range n.Attrs {
		b.WriteString(" " + a.Name + `="`)
		_ = xml.EscapeText(b, []byte(a.Value))
		b.WriteString(`"`)
	}
	b.WriteString(">")
	_ = xml.EscapeText(b, []byte(n.Text))
	for _, c := range n.Children {
		writeNode(b, c)
	}
	b.WriteString("</" + n.Element + ">")
}

// applyNodes applies objects as an overlay on the site's configuration.
// edit, when given, runs first with the current document so it can derive
// the objects from stored ones (under the site's configuration lock).
func (r *Resolver) applyNodes(ctx context.Context, edit func(cur *config.Document) ([]*config.Node, error)) (*model.ConfigResult, error) {
	var res *store.ApplyResult
	// An apply replaces checks in every security domain: the role governs it.
	err := r.write(tenants.WholeSite(ctx), func(ctx context.Context, tx pgx.Tx) error {
		site, err := tenants.SiteFrom(ctx)
		if err != nil {
			return err
		}
		if err := store.LockSiteConfig(ctx, tx, site); err != nil {
			return err
		}
		cur, err := r.Configs.LoadDocument(ctx, tx)
		if err != nil {
			return err
		}
		nodes, err := edit(cur)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		b.WriteString(`<bergamot site="`)
		_ = xml.EscapeText(&b, []byte(cur.Site))
		b.WriteString(`">`)
		for _, n := range nodes {
			writeNode(&b, n)
		}
		b.WriteString(`</bergamot>`)
		doc, err := config.Parse("api", &b)
		var list config.ErrorList
		if errors.As(err, &list) {
			res = &store.ApplyResult{Errors: list}
			return nil
		}
		if err != nil {
			return errs.Wrap(errs.Invalid, err, "invalid object")
		}
		res, err = r.Configs.Apply(ctx, tx, doc, author(ctx), "api", false)
		if err == nil && !res.OK {
			return errRollback
		}
		return err
	})
	if errors.Is(err, errRollback) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return ConfigResultOf(res), nil
}

var errRollback = errors.New("rollback")

func fixed(nodes ...*config.Node) func(*config.Document) ([]*config.Node, error) {
	return func(*config.Document) ([]*config.Node, error) { return nodes, nil }
}

func absent(kind, name string) func(*config.Document) ([]*config.Node, error) {
	return func(cur *config.Document) ([]*config.Node, error) {
		if cur.Object(kind, name) == nil {
			return nil, errs.E(errs.NotFound, "no %s named %q", kind, name)
		}
		return []*config.Node{node(kind, "name", name, "state", "absent")}, nil
	}
}

func (r *Resolver) saveHost(ctx context.Context, in model.HostInput) (*model.ConfigResult, error) {
	return r.applyNodes(ctx, func(cur *config.Document) ([]*config.Node, error) {
		n := node("host", "name", in.Name, "address", deref(in.Address, ""), "extends", strings.Join(in.Extends, ", "),
			"groups", strings.Join(in.Groups, ", "), "location", deref(in.Location, ""), "worker-pool", deref(in.WorkerPool, ""))
		textChild(n, "summary", deref(in.Summary, ""))
		if c := deref(in.Command, ""); c != "" {
			n.Children = append(n.Children, node("check-command", "command", c))
		}
		params(n, in.Parameters)
		// Keep the host's services: saving a host changes its own settings only.
		if old := cur.Object("host", in.Name); old != nil {
			for _, c := range old.Node().Children {
				if c.Element == "service" || c.Element == "trap" {
					n.Children = append(n.Children, c)
				}
			}
		}
		return []*config.Node{n}, nil
	})
}

func (r *Resolver) saveService(ctx context.Context, in model.ServiceInput) (*model.ConfigResult, error) {
	return r.applyNodes(ctx, func(cur *config.Document) ([]*config.Node, error) {
		host := cur.Object("host", in.Host)
		if host == nil {
			return nil, errs.E(errs.NotFound, "no host named %q", in.Host)
		}
		s := node("service", "name", in.Name, "extends", strings.Join(in.Extends, ", "), "groups", strings.Join(in.Groups, ", "))
		textChild(s, "summary", deref(in.Summary, ""))
		if in.Every != nil || in.RetryEvery != nil {
			s.Children = append(s.Children, node("schedule", "every", deref(in.Every, ""), "retry-every", deref(in.RetryEvery, "")))
		}
		cc := node("check-command", "command", in.Command)
		params(cc, in.Parameters)
		s.Children = append(s.Children, cc)
		h := *host.Node()
		h.Children = replaceChild(h.Children, "service", in.Name, s)
		return []*config.Node{&h}, nil
	})
}

func (r *Resolver) deleteService(ctx context.Context, hostName, name string) (*model.ConfigResult, error) {
	return r.applyNodes(ctx, func(cur *config.Document) ([]*config.Node, error) {
		host := cur.Object("host", hostName)
		if host == nil {
			return nil, errs.E(errs.NotFound, "no host named %q", hostName)
		}
		h := *host.Node()
		before := len(h.Children)
		h.Children = replaceChild(h.Children, "service", name, nil)
		if len(h.Children) == before {
			return nil, errs.E(errs.NotFound, "host %q has no service %q of its own (inherited services are removed in their template)", hostName, name)
		}
		return []*config.Node{&h}, nil
	})
}

// replaceChild returns children with the named element replaced by (or, for nil, without) repl.
func replaceChild(children []*config.Node, elem, name string, repl *config.Node) []*config.Node {
	out := make([]*config.Node, 0, len(children)+1)
	found := false
	for _, c := range children {
		if c.Element == elem && c.AttrValue("name") == name {
			found = true
			if repl != nil {
				out = append(out, repl)
			}
			continue
		}
		out = append(out, c)
	}
	if !found && repl != nil {
		out = append(out, repl)
	}
	return out
}

func (r *Resolver) saveCommand(ctx context.Context, in model.CommandInput) (*model.ConfigResult, error) {
	n := node("command", "name", in.Name, "engine", in.Engine, "executor", deref(in.Executor, ""), "extends", strings.Join(in.Extends, ", "))
	textChild(n, "summary", deref(in.Summary, ""))
	params(n, in.Parameters)
	return r.applyNodes(ctx, fixed(n))
}

func (r *Resolver) saveContact(ctx context.Context, in model.ContactInput) (*model.ConfigResult, error) {
	n := node("contact", "name", in.Name, "teams", strings.Join(in.Teams, ", "))
	textChild(n, "summary", deref(in.Summary, ""))
	textChild(n, "email", deref(in.Email, ""))
	textChild(n, "mobile", deref(in.Mobile, ""))
	return r.applyNodes(ctx, fixed(n))
}

func (r *Resolver) saveTeam(ctx context.Context, in model.TeamInput) (*model.ConfigResult, error) {
	n := node("team", "name", in.Name, "teams", strings.Join(in.Parents, ", "))
	textChild(n, "summary", deref(in.Summary, ""))
	return r.applyNodes(ctx, fixed(n))
}

func (r *Resolver) saveTimePeriod(ctx context.Context, in model.TimePeriodInput) (*model.ConfigResult, error) {
	n := node("time-period", "name", in.Name, "excludes", strings.Join(in.Excludes, ", "))
	textChild(n, "summary", deref(in.Summary, ""))
	for _, rg := range in.Ranges {
		textChild(n, "time-range", rg)
	}
	return r.applyNodes(ctx, fixed(n))
}
