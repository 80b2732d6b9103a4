package snmp

import (
	"net"
	"testing"

	"github.com/gosnmp/gosnmp"
)

func FuzzTrapDecode(f *testing.F) {
	g := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Community: "public", Logger: gosnmp.NewLogger(nil)}
	seed := func(p gosnmp.SnmpPacket) {
		b, err := p.MarshalMsg()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	vb := []gosnmp.SnmpPDU{
		{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(123)},
		{Name: "." + oidSnmpTrapOID, Type: gosnmp.ObjectIdentifier, Value: "." + oidLinkDown},
		{Name: "." + oidIfDescr + ".2", Type: gosnmp.OctetString, Value: []byte("eth0")},
		{Name: ".1.3.6.1.4.1.1.1", Type: gosnmp.Counter64, Value: uint64(1 << 40)},
	}
	seed(gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.SNMPv2Trap, Variables: vb, Logger: g.Logger})
	seed(gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.InformRequest, Variables: vb, Logger: g.Logger})
	seed(gosnmp.SnmpPacket{Version: gosnmp.Version1, Community: "public", PDUType: gosnmp.Trap, Variables: vb[2:], Logger: g.Logger,
		SnmpTrap: gosnmp.SnmpTrap{Enterprise: ".1.3.6.1.4.1.8072", AgentAddress: "127.0.0.1", GenericTrap: 2, Timestamp: 5}})
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := DecodeTrap(data, net.IPv4(127, 0, 0, 1))
		if err != nil {
			return
		}
		_ = Match(tr, []TrapRule{{Name: "x", Executor: "link-state", Parameters: map[string]string{"interface-name": "eth0"}},
			{Name: "y", Parameters: map[string]string{"trap_oid": "1.3.*", "varbind_oid": oidIfDescr + ".2"}}})
	})
}
