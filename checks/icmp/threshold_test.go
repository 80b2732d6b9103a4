package icmp

import "testing"

func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"100.0,20%", "3000.0,80%", "5000,100%", "1,0", "", "x,1%", "1,101%", "NaN,5%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := parseLimit("warning", s)
		if err != nil || !l.set {
			return
		}
		if l.rtaMS < 0 || l.lossPct < 0 || l.lossPct > 100 || l.rtaMS != l.rtaMS {
			t.Fatalf("%q parsed to %+v", s, l)
		}
	})
}
