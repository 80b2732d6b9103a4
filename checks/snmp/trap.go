package snmp

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// Standard trap OIDs (SNMPv2-MIB, RFC 3584).
const (
	oidSnmpTrapOID = "1.3.6.1.6.3.1.1.4.1.0"
	oidSysUpTime   = "1.3.6.1.2.1.1.3.0"
	oidLinkDown    = "1.3.6.1.6.3.1.1.5.3"
	oidLinkUp      = "1.3.6.1.6.3.1.1.5.4"
)

// Varbind is one variable carried by a trap.
type Varbind struct {
	OID, Type, Value string
}

// Trap is a received SNMP trap or inform, decoded.
type Trap struct {
	// Source is the address the datagram came from.
	Source net.IP
	// AgentAddr is a v1 trap's agent-addr field: whatever the sender wrote,
	// used only for rules that trust it (TrustAgentAddrParam).
	AgentAddr net.IP
	Community string
	// User is a v3 trap's security name (USM user).
	User string
	// Version is "1", "2c" or "3".
	Version string
	// EnterpriseOID is set for v1 traps; TrapOID for all (v1 mapped per RFC 3584).
	EnterpriseOID, TrapOID string
	Inform                 bool
	Varbinds               []Varbind
}

// DefaultTrapAddr is where traps are received by default: port 162 when
// running as root, 1162 otherwise.
func DefaultTrapAddr() string {
	if os.Geteuid() == 0 {
		return ":162"
	}
	return ":1162"
}

// TrapReceiver receives v1/v2c traps and informs (and v3 when Params says how).
type TrapReceiver struct {
	// Logger receives a record per undecodable or dropped packet; nil discards.
	Logger *slog.Logger
	// Params, when set, carries v3 USM settings for authenticated traps.
	Params *gosnmp.GoSNMP
}

// Serve receives traps on addr (UDP) and calls handle for each until ctx ends.
func (r *TrapReceiver) Serve(ctx context.Context, addr string, handle func(ctx context.Context, t Trap)) error {
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tl := gosnmp.NewTrapListener()
	tl.Params = r.Params
	if tl.Params == nil {
		tl.Params = &gosnmp.GoSNMP{Version: gosnmp.Version2c, Logger: gosnmp.NewLogger(nil)}
	}
	tl.OnNewTrap = func(p *gosnmp.SnmpPacket, from *net.UDPAddr) {
		t := FromPacket(p, from.IP)
		log.DebugContext(ctx, "snmp trap", slog.String("source", t.Source.String()), slog.String("oid", t.TrapOID))
		handle(ctx, t)
	}
	errc := make(chan error, 1)
	go func() { errc <- tl.Listen(addr) }()
	select {
	case <-tl.Listening():
	case err := <-errc:
		return fmt.Errorf("snmp trap receiver on %s: %w", addr, err)
	}
	select {
	case <-ctx.Done():
		tl.Close()
		// Listen returns once Close stopped it; an error then only reports the closing.
		if err := <-errc; err != nil {
			log.DebugContext(ctx, "snmp trap receiver closed", slog.String("addr", addr), slog.Any("error", err))
		}
		return nil
	case err := <-errc:
		return fmt.Errorf("snmp trap receiver on %s: %w", addr, err)
	}
}

// DecodeTrap decodes one raw trap datagram received from source.
func DecodeTrap(data []byte, source net.IP) (Trap, error) {
	g := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Logger: gosnmp.NewLogger(nil)}
	p, err := g.UnmarshalTrap(data, false)
	if err != nil {
		return Trap{}, fmt.Errorf("snmp trap from %s: %w", source, err)
	}
	if p == nil {
		return Trap{}, fmt.Errorf("snmp trap from %s: not a trap", source)
	}
	return FromPacket(p, source), nil
}

// FromPacket converts a gosnmp packet into a Trap.
func FromPacket(p *gosnmp.SnmpPacket, source net.IP) Trap {
	t := Trap{Source: source, Community: p.Community, Inform: p.PDUType == gosnmp.InformRequest}
	switch p.Version {
	case gosnmp.Version1:
		t.Version = "1"
		t.EnterpriseOID = strings.TrimPrefix(p.Enterprise, ".")
		if ip := net.ParseIP(p.AgentAddress); ip != nil && !ip.IsUnspecified() {
			t.AgentAddr = ip
		}
		if p.GenericTrap >= 0 && p.GenericTrap < 6 {
			t.TrapOID = "1.3.6.1.6.3.1.1.5." + strconv.Itoa(p.GenericTrap+1)
		} else {
			t.TrapOID = t.EnterpriseOID + ".0." + strconv.Itoa(p.SpecificTrap)
		}
	case gosnmp.Version3:
		t.Version = "3"
		if usm, ok := p.SecurityParameters.(*gosnmp.UsmSecurityParameters); ok {
			t.User = usm.UserName
		}
	default:
		t.Version = "2c"
	}
	for _, pdu := range p.Variables {
		v, err := decode(pdu)
		if err != nil {
			v.Text = pdu.Type.String()
		}
		switch v.OID {
		case oidSnmpTrapOID:
			t.TrapOID = v.Text
			continue
		case oidSysUpTime:
			continue
		}
		t.Varbinds = append(t.Varbinds, Varbind{OID: v.OID, Type: v.Type, Value: v.Text})
	}
	return t
}

// TrapRule is one Bergamot trap object, as the matcher sees it.
type TrapRule struct {
	// Name is the trap object's name, returned by Match.
	Name string
	// Host is the address of the host the trap belongs to; nil matches nothing.
	Host net.IP
	// Executor is the trap command's executor: "link-state" or "generic".
	Executor string
	// Parameters are the resolved command parameters: interface-name for
	// link-state; trap_oid (exact, or a prefix ending in ".*"),
	// optional varbind_oid/varbind_value, status and clear_oid for generic.
	Parameters map[string]string
}

// TrustAgentAddrParam is the trap command parameter ("yes") that lets a v1
// trap's agent-addr field, instead of the datagram's source address, name
// the host (for traps relayed by a proxy the operator controls).
const TrustAgentAddrParam = "trust_agent_addr"

// Authorized reports whether the trap carries a credential the rule's site
// configured: for v1/v2c the community (parameter snmp_community or
// community), for v3 the USM user (snmp_user or user; the receiver has
// already checked its keys). A rule without one accepts nothing.
func Authorized(trap Trap, r TrapRule) bool {
	get := func(names ...string) string {
		for _, n := range names {
			if v := r.Parameters[n]; v != "" {
				return v
			}
		}
		return ""
	}
	if trap.Version == "3" {
		want := get("snmp_user", "user")
		return want != "" && trap.User == want
	}
	want := get("snmp_community", "community")
	return want != "" && subtle.ConstantTimeCompare([]byte(trap.Community), []byte(want)) == 1
}

// From returns the address the rule matches the trap's host by: the
// datagram's source, or a v1 agent-addr when the rule trusts it.
func From(trap Trap, r TrapRule) net.IP {
	if trap.AgentAddr != nil && isYes(r.Parameters[TrustAgentAddrParam]) {
		return trap.AgentAddr
	}
	return trap.Source
}

func isYes(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "true", "1", "on":
		return true
	}
	return false
}

// Match returns the names of the rules the trap belongs to: those whose
// host address is the trap's (see From) and whose credential the trap
// carries (see Authorized). A rule without a host address matches nothing.
func Match(trap Trap, rules []TrapRule) []string {
	var out []string
	for _, r := range rules {
		if r.Host == nil || !r.Host.Equal(From(trap, r)) || !Authorized(trap, r) {
			continue
		}
		if _, ok := Evaluate(trap, r); ok {
			out = append(out, r.Name)
		}
	}
	return out
}

// Evaluate derives the result a trap gives the rule's trap object, and
// whether the trap concerns that object at all.
func Evaluate(trap Trap, r TrapRule) (*checks.Result, bool) {
	if r.Executor == "link-state" {
		return linkState(trap, r)
	}
	want := strings.TrimPrefix(r.Parameters["trap_oid"], ".")
	clearOID := strings.TrimPrefix(r.Parameters["clear_oid"], ".")
	matches := func(oid string) bool {
		if p, ok := strings.CutSuffix(oid, ".*"); ok {
			return strings.HasPrefix(trap.TrapOID, p+".")
		}
		return oid != "" && trap.TrapOID == oid
	}
	if vo := strings.TrimPrefix(r.Parameters["varbind_oid"], "."); vo != "" {
		if v, ok := trapVarbind(trap, vo); !ok || (r.Parameters["varbind_value"] != "" && v != r.Parameters["varbind_value"]) {
			return nil, false
		}
	}
	out := fmt.Sprintf("trap %s from %s", trap.TrapOID, trap.Source)
	if len(trap.Varbinds) > 0 {
		parts := make([]string, 0, len(trap.Varbinds))
		for _, v := range trap.Varbinds {
			parts = append(parts, v.OID+"="+v.Value)
		}
		out += ": " + strings.Join(parts, ", ")
	}
	switch {
	case matches(clearOID):
		return &checks.Result{Status: checks.StatusOK, Output: out}, true
	case matches(want):
		st, err := checks.ParseStatus(r.Parameters["status"])
		if err != nil || r.Parameters["status"] == "" {
			st = checks.StatusCritical
		}
		return &checks.Result{Status: st, Output: out}, true
	}
	return nil, false
}

// linkState handles IF-MIB linkDown/linkUp for the interface-name parameter
// (matched against an ifDescr or ifName varbind, or an ifIndex).
func linkState(trap Trap, r TrapRule) (*checks.Result, bool) {
	if trap.TrapOID != oidLinkDown && trap.TrapOID != oidLinkUp {
		return nil, false
	}
	name := r.Parameters["interface-name"]
	found := false
	for _, v := range trap.Varbinds {
		if (strings.HasPrefix(v.OID, oidIfDescr+".") || strings.HasPrefix(v.OID, oidIfName+".") ||
			strings.HasPrefix(v.OID, "1.3.6.1.2.1.2.2.1.1.")) && v.Value == name {
			found = true
		}
	}
	if !found {
		return nil, false
	}
	if trap.TrapOID == oidLinkDown {
		return &checks.Result{Status: checks.StatusCritical, Output: "Interface " + name + " is down"}, true
	}
	return &checks.Result{Status: checks.StatusOK, Output: "Interface " + name + " is up"}, true
}

// trapVarbind returns the value of the trap's varbind with that OID.
func trapVarbind(trap Trap, oid string) (string, bool) {
	for _, v := range trap.Varbinds {
		if v.OID == oid {
			return v.Value, true
		}
	}
	return "", false
}
