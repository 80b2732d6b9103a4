package config

import (
	"bytes"
	"fmt"
	"testing"
)

// tenKHosts generates 10,000 hosts of one template with 10 NRPE services.
func tenKHosts() []byte {
	var b bytes.Buffer
	b.WriteString(`<bergamot site="bench">
<team name="ops"/><time-period name="24x7"><time-range>monday 00:00-24:00</time-range></time-period>
<command name="nrpe" engine="nrpe"><parameter name="command">#{arg1}</parameter><parameter name="host">#{host.address}</parameter></command>
<service name="svc" template="yes"><notify teams="ops"/><schedule every="5" time-period="24x7"/></service>
<host name="tpl" template="yes"><notify teams="ops"/><check-command command="nrpe"><parameter name="arg1">check_alive</parameter></check-command>
`)
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&b, `<service name="s%d" extends="svc"><check-command command="nrpe"><parameter name="arg1">check_%d</parameter></check-command></service>
`, i, i)
	}
	b.WriteString("</host>\n")
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&b, `<host name="host%d" extends="tpl" address="10.%d.%d.%d"/>
`, i, i>>16&255, i>>8&255, i&255)
	}
	b.WriteString("</bergamot>\n")
	return b.Bytes()
}

func BenchmarkResolve10kHosts(b *testing.B) {
	data := tenKHosts()
	b.ResetTimer()
	for b.Loop() {
		doc, err := Parse("bench.xml", bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		m, err := Resolve(doc)
		if err != nil {
			b.Fatal(err)
		}
		if len(m.Hosts) != 10000 || len(m.Hosts[9999].Services) != 10 || m.Hosts[1].Services[3].Command.Parameters["command"] != "check_3" {
			b.Fatal("wrong model")
		}
	}
}
