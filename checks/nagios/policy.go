package nagios

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// Rules broken under the hosted policy, as named in refusals.
const (
	ruleAllowList = "plugins only from the operator's allow-list"
	ruleNoShell   = "a plugin and its arguments only, never a shell"
	ruleArgs      = "plugin arguments within the operator's rules"
	ruleNoDir     = "the operator's plugin directory only"
	ruleNet       = "outbound connections only to public addresses"
)

// ArgRules are the operator's per-plugin argument rules: for a plugin
// listed, which options it may be given. A plugin not listed takes any
// options (the general hosted rules still hold).
type ArgRules map[string]ArgRule

// ArgRule is the rule of one plugin.
type ArgRule = checks.PluginRule

// DefaultArgRules refuse the plugins that run other commands or reach
// other machines with the worker's own identity.
func DefaultArgRules() ArgRules {
	return ArgRules{
		"negate":       {Deny: true},
		"urlize":       {Deny: true},
		"check_by_ssh": {Deny: true},
		"check_nrpe":   {Deny: true},
	}
}

// ParseArgRules reads argument rules, one plugin a line:
//
//	# comment
//	check_http: -H -I -p -u -w -c -t -S --sni -e -s
//	check_by_ssh: deny
//	check_ping: *
//
// "deny" refuses the plugin, "*" allows any option, otherwise the options
// listed are the only ones allowed. Rules read start from DefaultArgRules;
// a line for a plugin replaces its default. An error names the line.
func ParseArgRules(name string, r io.Reader) (ArgRules, error) {
	rules := DefaultArgRules()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	seen := map[string]int{}
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		plugin, rest, ok := strings.Cut(line, ":")
		plugin = strings.TrimSpace(plugin)
		if !ok || plugin == "" {
			return nil, fmt.Errorf("%s:%d: want \"PLUGIN: OPTIONS\", \"PLUGIN: deny\" or \"PLUGIN: *\"", name, n)
		}
		if strings.ContainsAny(plugin, "/ \t") || plugin == "." || plugin == ".." {
			return nil, fmt.Errorf("%s:%d: %q is not a plugin name (a file name in the plugin directory)", name, n, plugin)
		}
		if prev, dup := seen[plugin]; dup {
			return nil, fmt.Errorf("%s:%d: plugin %s already has a rule on line %d", name, n, plugin, prev)
		}
		seen[plugin] = n
		fields := strings.Fields(rest)
		switch {
		case len(fields) == 1 && fields[0] == "deny":
			rules[plugin] = ArgRule{Deny: true}
		case len(fields) == 1 && fields[0] == "*":
			rules[plugin] = ArgRule{}
		case len(fields) == 0:
			return nil, fmt.Errorf("%s:%d: plugin %s: no options listed (write \"deny\" to refuse it, \"*\" to allow any option)", name, n, plugin)
		default:
			for _, f := range fields {
				if !strings.HasPrefix(f, "-") || f == "-" || f == "--" || strings.ContainsAny(f, "=") {
					return nil, fmt.Errorf("%s:%d: plugin %s: %q is not an option (options start with - or --, without a value)", name, n, plugin, f)
				}
			}
			rules[plugin] = ArgRule{Options: fields}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, n+1, err)
	}
	return rules, nil
}

// LoadArgRules reads rules from a file ("" gives DefaultArgRules).
func LoadArgRules(path string) (ArgRules, error) {
	if path == "" {
		return DefaultArgRules(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("plugin argument rules: %w", err)
	}
	defer f.Close()
	return ParseArgRules(path, f)
}

// allowsOption reports whether arg (starting with "-") is one of opts.
func allowsOption(r ArgRule, arg string) bool {
	if r.Options == nil {
		return true
	}
	for _, o := range r.Options {
		if arg == o || strings.HasPrefix(arg, o) && (strings.HasPrefix(o, "--") && arg[len(o)] == '=' || !strings.HasPrefix(o, "--") && len(o) == 2) {
			return true
		}
	}
	return false
}

// hostOptions are plugin options whose value is a host the plugin will
// connect to; under hosted such a literal address is checked like any
// native engine's target.
var hostOptions = []string{"-H", "--hostname", "--host", "-I", "--IP-address"}

// CheckPolicy implements checks.PolicyChecker: under hosted the command line
// must name a plugin in the allow-list, split into an argv without any shell
// syntax, with arguments the operator's rules allow, and no parameter may
// move the plugin directory.
func (e *Engine) CheckPolicy(_ context.Context, p *checks.Policy, req *checks.Request) error {
	if !p.Hosted() {
		return nil
	}
	_, err := e.hostedArgs(p, req)
	return err
}

// hostedArgs is commandArgs under the hosted policy.
func (e *Engine) hostedArgs(p *checks.Policy, req *checks.Request) ([]string, error) {
	for _, name := range []string{"plugin_dir", PluginDirEnv, "USER1"} {
		if v, ok := req.Parameters[name]; ok && strings.TrimSpace(v) != "" {
			return nil, checks.Refuse(ruleNoDir, "parameter %q may not be set by a site (plugins come from the operator's allow-list)", name)
		}
	}
	line := strings.TrimSpace(req.CommandLine)
	if line == "" {
		line = strings.TrimSpace(req.Param("command_line", ""))
	}
	if line == "" {
		return nil, fmt.Errorf("no command line: set the command's command_line parameter")
	}
	dirs, rules := e.opts.AllowDirs, e.opts.ArgRules
	if len(p.PluginDirs) > 0 {
		dirs = p.PluginDirs
	}
	if p.PluginRules != nil {
		rules = p.PluginRules
	}
	dir := dirs[0]
	line, err := expandUserMacros(line, dir, func(name string) string {
		if name == "USER1" {
			return ""
		}
		return req.Param(name, "")
	})
	if err != nil {
		return nil, err
	}
	if i := strings.IndexAny(line, "$;|`<>&\n\r"); i >= 0 {
		return nil, checks.Refuse(ruleNoShell, "%q in the command line %q", line[i:i+1], line)
	}
	args, needShell, err := splitCommandLine(line)
	if err != nil {
		return nil, fmt.Errorf("command line %q: %w", line, err)
	}
	if needShell {
		return nil, checks.Refuse(ruleNoShell, "the command line %q needs a shell", line)
	}
	plugin, err := allowedPlugin(dirs, args[0])
	if err != nil {
		return nil, err
	}
	args[0] = plugin
	name := filepath.Base(plugin)
	rule := rules[name]
	if rule.Deny {
		return nil, checks.Refuse(ruleArgs, "the operator does not allow plugin %s", name)
	}
	for i, a := range args[1:] {
		if strings.Contains(a, "..") {
			return nil, checks.Refuse(ruleArgs, "argument %q contains \"..\"", a)
		}
		if (strings.HasPrefix(a, "/") || strings.Contains(a, "=/")) && !isURLPath(args[1:], i) {
			path := a[strings.IndexByte(a, '/'):] // present: checked just above
			if !inDirs(dirs, path) {
				return nil, checks.Refuse(ruleArgs, "argument %q names a file of the worker", a)
			}
		}
		if strings.HasPrefix(a, "-") && !allowsOption(rule, a) {
			return nil, checks.Refuse(ruleArgs, "option %q is not allowed for %s (allowed: %s)", a, name, strings.Join(rule.Options, " "))
		}
		if err := checkHostArg(p, args[1:], i); err != nil {
			return nil, err
		}
	}
	return args, nil
}

// urlOptions take a URL path ("-u /status"), not a file.
var urlOptions = []string{"-u", "--url", "--uri"}

// isURLPath reports whether args[i] is the value of a URL option.
func isURLPath(args []string, i int) bool {
	for _, o := range urlOptions {
		if i > 0 && args[i-1] == o || strings.HasPrefix(args[i], o+"=/") {
			return true
		}
	}
	return false
}

// checkHostArg checks the value of a host option at args[i].
func checkHostArg(p *checks.Policy, args []string, i int) error {
	np := p.Network()
	a := args[i]
	for _, o := range hostOptions {
		var v string
		switch {
		case a == o && i+1 < len(args):
			v = args[i+1]
		case strings.HasPrefix(o, "--") && strings.HasPrefix(a, o+"="):
			v = a[len(o)+1:]
		case !strings.HasPrefix(o, "--") && strings.HasPrefix(a, o) && len(a) > len(o):
			v = a[len(o):]
		default:
			continue
		}
		if err := np.CheckHost(v); err != nil {
			return checks.Refuse(ruleNet, "%s", err)
		}
	}
	return nil
}

// allowedPlugin resolves a plugin name or path inside the allow-list.
func allowedPlugin(dirs []string, name string) (string, error) {
	if strings.Contains(name, "..") {
		return "", checks.Refuse(ruleAllowList, "plugin %q contains \"..\"", name)
	}
	if strings.Contains(name, "/") {
		if !filepath.IsAbs(name) {
			return "", checks.Refuse(ruleAllowList, "plugin %q is a relative path", name)
		}
		if !inDirs(dirs, name) {
			return "", checks.Refuse(ruleAllowList, "%s is outside %s", name, strings.Join(dirs, ", "))
		}
		return filepath.Clean(name), nil
	}
	anyDir := false
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
		if _, err := os.Stat(d); err == nil {
			anyDir = true
		}
	}
	if !anyDir {
		// No plugin directory on this machine (a serve node without
		// plugins validating a configuration): the worker judges.
		return filepath.Join(dirs[0], name), nil
	}
	return "", checks.Refuse(ruleAllowList, "plugin %s is not in %s", name, strings.Join(dirs, ", "))
}

// inDirs reports whether path lies directly in one of dirs.
func inDirs(dirs []string, path string) bool {
	c := filepath.Clean(path)
	for _, d := range dirs {
		if filepath.Dir(c) == filepath.Clean(d) {
			return true
		}
	}
	return false
}
