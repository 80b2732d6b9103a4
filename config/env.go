package config

import (
	"errors"
	"fmt"

	"github.com/bergamot-monitoring/bergamot/config/expr"
)

// checkEnv gives #{...} names their meaning for one concrete check:
// host, service, check, cluster, global/site, resolve_credentials(), and the
// bound command's parameters by bare name (#{arg1}).
type checkEnv struct {
	r        *resolver
	check    *Check
	host     *Check
	node     *Node
	bound    map[string]*Node
	done     map[string]string
	visiting map[string]bool
}

func newCheckEnv(r *resolver, c, host *Check, n *Node) *checkEnv {
	return &checkEnv{r: r, check: c, host: host, node: n, done: map[string]string{}, visiting: map[string]bool{}}
}

func (e *checkEnv) bind(params []*Node) {
	e.bound = make(map[string]*Node, len(params))
	for _, p := range params {
		e.bound[p.AttrValue("name")] = p
	}
	e.done = map[string]string{}
}

// evalParam evaluates one parameter, reporting errors against it.
func (e *checkEnv) evalParam(p *Node, label string) string {
	v, err := e.eval(p)
	if err != nil {
		e.r.sink.add(p, label, "parameter %q: %v", p.AttrValue("name"), err)
	}
	return v
}

func (e *checkEnv) eval(p *Node) (string, error) {
	name := p.AttrValue("name")
	if v, ok := e.done[name]; ok && e.bound[name] == p {
		return v, nil
	}
	raw := paramValue(p)
	t, err := e.r.template(raw)
	if err != nil {
		return raw, err
	}
	if !t.HasExpressions() {
		return raw, nil
	}
	if e.visiting[name] {
		return "", fmt.Errorf("parameter %q refers to itself", name)
	}
	e.visiting[name] = true
	defer delete(e.visiting, name)
	v, err := t.Eval(e)
	if err != nil {
		return "", err
	}
	if e.bound[name] == p {
		e.done[name] = v
	}
	return v, nil
}

// Lookup implements expr.Env.
func (e *checkEnv) Lookup(name string) (expr.Value, bool, error) {
	switch name {
	case "host":
		if e.host == nil {
			return nil, false, nil
		}
		return &checkObject{e: e, c: e.host}, true, nil
	case "service", "trap", "resource":
		if e.check.Kind != name {
			return nil, false, nil
		}
		return &checkObject{e: e, c: e.check}, true, nil
	case "cluster":
		if e.host == nil || e.host.Kind != "cluster" {
			return nil, false, nil
		}
		return &checkObject{e: e, c: e.host}, true, nil
	case "check":
		return &checkObject{e: e, c: e.check}, true, nil
	case "global", "site":
		return siteObject{r: e.r}, true, nil
	case "nagios.path": // the Bergamot documentation's name for the plugin directory
		if v, ok := e.r.site["nagios_path"]; ok {
			return v, true, nil
		}
	}
	if p := e.bound[name]; p != nil {
		v, err := e.eval(p)
		return v, true, err
	}
	if v, ok := e.check.Parameters[name]; ok {
		return v, true, nil
	}
	return nil, false, nil
}

// Func implements expr.Env: resolve_credentials('name').
func (e *checkEnv) Func(name string, args []expr.Value) (expr.Value, error) {
	if name != "resolve_credentials" {
		return nil, fmt.Errorf("%w function %q", expr.ErrUnknown, name)
	}
	if len(args) != 1 {
		return nil, fmt.Errorf("resolve_credentials() takes 1 argument, got %d", len(args))
	}
	c, err := e.r.creds.ResolveCredential(expr.String(args[0]))
	if err != nil {
		return nil, err
	}
	return credentialObject{c}, nil
}

// checkObject exposes a check to expressions.
type checkObject struct {
	e *checkEnv
	c *Check
}

func (o *checkObject) Field(name string) (expr.Value, bool) {
	switch name {
	case "name":
		return o.c.Name, true
	case "summary":
		return o.c.Summary, true
	case "address":
		return o.c.Address, true
	case "id": // the agent id when set, else the name: the stable identity a check has before it is stored
		if o.c.AgentID != "" {
			return o.c.AgentID, true
		}
		return o.c.Name, true
	case "location":
		if l := o.e.r.model.Locations[o.c.Location]; l != nil {
			return locationObject{m: o.e.r.model, l: l}, true
		}
		return nil, true
	case "parameters":
		return paramsObject(o.c.Parameters), true
	}
	return nil, false
}

func (o *checkObject) Method(name string, args []expr.Value) (expr.Value, error) {
	if name != "getParameter" {
		return nil, fmt.Errorf("%w method %q", expr.ErrUnknown, name)
	}
	return getParameter(o.c.Parameters, args)
}

func getParameter(params map[string]string, args []expr.Value) (expr.Value, error) {
	if len(args) < 1 || len(args) > 2 {
		return nil, errors.New("getParameter() takes a name and an optional default")
	}
	if v, ok := params[expr.String(args[0])]; ok {
		return v, nil
	}
	if len(args) == 2 {
		return args[1], nil
	}
	return nil, nil
}

type paramsObject map[string]string

func (p paramsObject) Field(name string) (expr.Value, bool) {
	v, ok := p[name]
	return v, ok
}

func (p paramsObject) Method(name string, args []expr.Value) (expr.Value, error) {
	if name != "get" {
		return nil, fmt.Errorf("%w method %q", expr.ErrUnknown, name)
	}
	return getParameter(p, args)
}

// locationObject exposes a location; getParameter looks up the location
// tree, nearest first.
type locationObject struct {
	m *Model
	l *Location
}

func (o locationObject) Field(name string) (expr.Value, bool) {
	switch name {
	case "name":
		return o.l.Name, true
	case "summary":
		return o.l.Summary, true
	case "location":
		if p := o.m.Locations[o.l.Parent]; p != nil {
			return locationObject{m: o.m, l: p}, true
		}
		return nil, true
	}
	return nil, false
}

func (o locationObject) Method(name string, args []expr.Value) (expr.Value, error) {
	if name != "getParameter" {
		return nil, fmt.Errorf("%w method %q", expr.ErrUnknown, name)
	}
	seen := map[string]bool{}
	for l := o.l; l != nil && !seen[l.Name]; l = o.m.Locations[l.Parent] {
		seen[l.Name] = true
		if v, err := getParameter(l.Parameters, args[:min(1, len(args))]); err != nil || v != nil {
			return v, err
		}
	}
	return getParameter(nil, args)
}

// siteObject exposes site parameters as #{global.x} and #{site.x}.
type siteObject struct{ r *resolver }

func (s siteObject) Field(name string) (expr.Value, bool) {
	if v, ok := s.r.site[name]; ok {
		return v, true
	}
	switch name {
	case "name":
		return s.r.model.Site, true
	case "deployment_mode": // Bergamot's built-in: a single-node deployment unless the site says otherwise
		return "standalone", true
	}
	return nil, false
}

func (s siteObject) Method(name string, args []expr.Value) (expr.Value, error) {
	if name != "getParameter" {
		return nil, fmt.Errorf("%w method %q", expr.ErrUnknown, name)
	}
	return getParameter(s.r.site, args)
}

type credentialObject struct{ c *Credential }

func (o credentialObject) Field(name string) (expr.Value, bool) {
	switch name {
	case "name":
		return o.c.Name, true
	case "username":
		return o.c.Username, true
	case "password":
		return o.c.Password, true
	case "keyId":
		return o.c.KeyID, true
	case "keySecret":
		return o.c.KeySecret, true
	}
	return nil, false
}

func (o credentialObject) Method(name string, _ []expr.Value) (expr.Value, error) {
	return nil, fmt.Errorf("%w method %q", expr.ErrUnknown, name)
}

// modelCredentials is the default CredentialResolver: the configuration's own
// credential objects, by name or "default_"+name.
type modelCredentials map[string]*Credential

func (m modelCredentials) ResolveCredential(name string) (*Credential, error) {
	if c := m[name]; c != nil {
		return c, nil
	}
	if c := m["default_"+name]; c != nil {
		return c, nil
	}
	return nil, fmt.Errorf("unknown credential %q", name)
}

// template parses a parameter value once per Resolve, however many checks
// use it.
func (r *resolver) template(raw string) (*expr.Template, error) {
	if t, ok := r.templates[raw]; ok {
		return t, nil
	}
	t, err := expr.ParseTemplate(raw)
	if err != nil {
		return nil, err
	}
	r.templates[raw] = t
	return t, nil
}
