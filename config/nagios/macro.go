package nagios

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var macroRE = regexp.MustCompile(`\$([A-Za-z0-9_]+)\$`)

var fixedMacros = map[string]string{
	"HOSTADDRESS":        "#{host.address}",
	"HOSTNAME":           "#{host.name}",
	"HOSTALIAS":          "#{host.summary}",
	"HOSTDISPLAYNAME":    "#{host.summary}",
	"SERVICEDESC":        "#{service.summary}",
	"SERVICEDISPLAYNAME": "#{service.summary}",
}

// paramName is the Bergamot parameter name of a Nagios custom variable.
func paramName(v string) string { return strings.ToLower(strings.TrimPrefix(v, "_")) }

// userParam is the Bergamot site parameter for $USERn$; USER1 is the plugin
// directory by Nagios convention (Bergamot's nagios_path).
func userParam(n string) string {
	if n == "USER1" {
		return "nagios_path"
	}
	return "nagios_" + strings.ToLower(n)
}

// convertMacros rewrites Nagios macros into Bergamot #{...} expressions.
// Macros that have no Bergamot equivalent are kept and returned.
func convertMacros(s string) (string, []string) {
	var unknown []string
	out := macroRE.ReplaceAllStringFunc(s, func(m string) string {
		name := m[1 : len(m)-1]
		if v, ok := fixedMacros[name]; ok {
			return v
		}
		switch {
		case strings.HasPrefix(name, "ARG") && isInt(name[3:]):
			return "#{arg" + name[3:] + "}"
		case strings.HasPrefix(name, "USER") && isInt(name[4:]):
			return "#{global." + userParam(name) + "}"
		case strings.HasPrefix(name, "_HOST"):
			return fmt.Sprintf("#{host.getParameter('%s')}", paramName(name[5:]))
		case strings.HasPrefix(name, "_SERVICE"):
			return fmt.Sprintf("#{service.getParameter('%s')}", paramName(name[8:]))
		}
		unknown = append(unknown, m)
		return m
	})
	return out, unknown
}

// splitCheckCommand splits "cmd!a!b" into the command and its arguments,
// honouring "\!" escapes.
func splitCheckCommand(s string) (string, []string) {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && s[i+1] == '!' {
			cur.WriteByte('!')
			i++
			continue
		}
		if s[i] == '!' {
			parts = append(parts, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteByte(s[i])
	}
	parts = append(parts, cur.String())
	return parts[0], parts[1:]
}

func parseFloat(s string) (float64, error) { return strconv.ParseFloat(s, 64) }
