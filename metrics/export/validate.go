package export

import (
	"fmt"
	"sort"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/internal/netpolicy"
)

// Validator refuses, at configuration apply, a <metrics-export> whose URL
// the address policy np refuses (the hosted policy: a site cannot export
// into the operator's network), or whose protocol reg does not hold. The
// same policy refuses the resolved address again when a batch is sent.
// Its signature is store.Validator's.
func Validator(reg *Registry, np *netpolicy.Policy) func(m *config.Model) config.ErrorList {
	return func(m *config.Model) config.ErrorList {
		names := make([]string, 0, len(m.MetricsExports))
		for n := range m.MetricsExports {
			names = append(names, n)
		}
		sort.Strings(names)
		var out config.ErrorList
		for _, n := range names {
			e := m.MetricsExports[n]
			label := fmt.Sprintf("metrics-export %q", n)
			if _, ok := reg.Lookup(e.Protocol); !ok && e.Protocol != "" {
				out = append(out, &config.Error{File: e.Source.File, Line: e.Source.Line, Object: label,
					Message: "protocol " + e.Protocol + " is not available on this installation"})
			}
			if err := np.CheckURL("url", e.URL); err != nil {
				out = append(out, &config.Error{File: e.Source.File, Line: e.Source.Line, Object: label, Message: err.Error()})
			}
		}
		return out
	}
}
