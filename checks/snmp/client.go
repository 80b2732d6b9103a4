package snmp

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// param returns the first non-empty parameter among names, or def.
func param(req *checks.Request, def string, names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(req.Parameters[n]); v != "" {
			return v
		}
	}
	return def
}

// dial builds and connects a gosnmp client from the check's parameters
// (host, port, snmp_version, snmp_community, snmp_user, snmp_auth,
// snmp_password, snmp_priv, snmp_priv_password, snmp_engine_id).
func dial(ctx context.Context, req *checks.Request) (*gosnmp.GoSNMP, error) {
	host := param(req, req.HostAddress, "host")
	if host == "" {
		return nil, fmt.Errorf("parameter \"host\" is not set and the host has no address")
	}
	port, err := strconv.ParseUint(param(req, "161", "port", "snmp_port"), 10, 16)
	if err != nil {
		return nil, fmt.Errorf("parameter \"port\": %q is not a port number", req.Parameters["port"])
	}
	timeout := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl)/2, 100*time.Millisecond)
	}
	g := &gosnmp.GoSNMP{Target: host, Port: uint16(port), Context: ctx, Timeout: timeout, Retries: 1,
		MaxOids: gosnmp.MaxOids, MaxRepetitions: 20}
	if np := req.Policy.Network(); np != nil {
		g.Control = np.Control // the resolved address, checked on the socket
	}
	switch v := strings.ToLower(param(req, "2", "snmp_version", "version")); v {
	case "1", "v1":
		g.Version, g.Community = gosnmp.Version1, param(req, "public", "snmp_community", "community")
	case "2", "2c", "v2", "v2c":
		g.Version, g.Community = gosnmp.Version2c, param(req, "public", "snmp_community", "community")
	case "3", "v3":
		if err := setV3(g, req); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("parameter \"snmp_version\": %q is not 1, 2c or 3", v)
	}
	if err := g.Connect(); err != nil {
		return nil, fmt.Errorf("snmp connect %s:%d: %w", host, port, err)
	}
	return g, nil
}

// setV3 configures USM security from the parameters.
func setV3(g *gosnmp.GoSNMP, req *checks.Request) error {
	user := param(req, "", "snmp_user", "user")
	if user == "" {
		return fmt.Errorf("parameter \"snmp_user\" is required for SNMP v3")
	}
	authPass := param(req, "", "snmp_auth_password", "snmp_password")
	privPass := param(req, authPass, "snmp_priv_password")
	usm := &gosnmp.UsmSecurityParameters{UserName: user}
	flags := gosnmp.NoAuthNoPriv
	switch a := strings.ToLower(param(req, "sha1", "snmp_auth")); a {
	case "none":
	case "sha", "sha1":
		usm.AuthenticationProtocol, flags = gosnmp.SHA, gosnmp.AuthNoPriv
	case "md5":
		usm.AuthenticationProtocol, flags = gosnmp.MD5, gosnmp.AuthNoPriv
	case "sha256":
		usm.AuthenticationProtocol, flags = gosnmp.SHA256, gosnmp.AuthNoPriv
	case "sha512":
		usm.AuthenticationProtocol, flags = gosnmp.SHA512, gosnmp.AuthNoPriv
	default:
		return fmt.Errorf("parameter \"snmp_auth\": %q is not none, sha1, md5, sha256 or sha512", a)
	}
	usm.AuthenticationPassphrase = authPass
	if flags != gosnmp.NoAuthNoPriv {
		switch p := strings.ToLower(param(req, "aes128", "snmp_priv")); p {
		case "none":
		case "aes", "aes128":
			usm.PrivacyProtocol, flags = gosnmp.AES, gosnmp.AuthPriv
		case "des":
			usm.PrivacyProtocol, flags = gosnmp.DES, gosnmp.AuthPriv
		case "aes192":
			usm.PrivacyProtocol, flags = gosnmp.AES192, gosnmp.AuthPriv
		case "aes256":
			usm.PrivacyProtocol, flags = gosnmp.AES256, gosnmp.AuthPriv
		default:
			return fmt.Errorf("parameter \"snmp_priv\": %q is not none, aes128, des, aes192 or aes256", p)
		}
		usm.PrivacyPassphrase = privPass
	}
	if id := param(req, "", "snmp_engine_id"); id != "" {
		b, err := hex.DecodeString(strings.TrimPrefix(id, "0x"))
		if err != nil {
			return fmt.Errorf("parameter \"snmp_engine_id\": %q is not hex", id)
		}
		usm.AuthoritativeEngineID = string(b)
	}
	g.Version, g.SecurityModel, g.MsgFlags, g.SecurityParameters = gosnmp.Version3, gosnmp.UserSecurityModel, flags, usm
	return nil
}

// Value is one fetched variable, decoded for display and arithmetic.
type Value struct {
	OID  string
	Type string
	// Text is the display form; Number is set for numeric types.
	Text   string
	Number *big.Int
}

// decode turns a PDU into a Value; missing objects are an error naming the OID.
func decode(pdu gosnmp.SnmpPDU) (Value, error) {
	v := Value{OID: strings.TrimPrefix(pdu.Name, "."), Type: pdu.Type.String()}
	switch pdu.Type {
	case gosnmp.NoSuchObject, gosnmp.NoSuchInstance, gosnmp.EndOfMibView, gosnmp.Null:
		return v, fmt.Errorf("OID %s: %s", v.OID, pdu.Type)
	case gosnmp.OctetString:
		b, _ := pdu.Value.([]byte)
		v.Text = string(b)
	case gosnmp.ObjectIdentifier, gosnmp.IPAddress:
		v.Text = strings.TrimPrefix(fmt.Sprint(pdu.Value), ".")
	case gosnmp.Integer, gosnmp.Counter32, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Counter64, gosnmp.Uinteger32:
		v.Number = gosnmp.ToBigInt(pdu.Value)
		v.Text = v.Number.String()
	default:
		v.Text = fmt.Sprint(pdu.Value)
	}
	return v, nil
}

// get fetches oids and decodes them in order.
func get(g *gosnmp.GoSNMP, oids ...string) ([]Value, error) {
	pkt, err := g.Get(oids)
	if err != nil {
		return nil, fmt.Errorf("snmp get %s: %w", strings.Join(oids, ", "), err)
	}
	if pkt.Error != gosnmp.NoError {
		return nil, fmt.Errorf("snmp get %s: agent answered %s", strings.Join(oids, ", "), pkt.Error)
	}
	out := make([]Value, 0, len(pkt.Variables))
	for _, pdu := range pkt.Variables {
		v, err := decode(pdu)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// walk fetches the subtree under oid (bulk on v2c/v3), up to limit values.
func walk(g *gosnmp.GoSNMP, oid string, limit int) ([]Value, error) {
	var out []Value
	fn := func(pdu gosnmp.SnmpPDU) error {
		if len(out) >= limit {
			return fmt.Errorf("more than %d values under %s", limit, oid)
		}
		v, err := decode(pdu)
		if err == nil {
			out = append(out, v)
		}
		return nil
	}
	var err error
	if g.Version == gosnmp.Version1 {
		err = g.Walk(oid, fn)
	} else {
		err = g.BulkWalk(oid, fn)
	}
	if err != nil {
		return out, fmt.Errorf("snmp walk %s: %w", oid, err)
	}
	return out, nil
}
