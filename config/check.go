package config

// buildCheck builds a concrete check from its resolved node; host is the
// containing host (or cluster) for services, traps and resources.
func (r *resolver) buildCheck(n *Node, host *Check, label string) *Check {
	c := &Check{Kind: n.Element, Name: n.AttrValue("name"), Summary: text(n, "summary"), Description: text(n, "description"),
		Enabled: boolAttr(n, "enabled", true), Suppressed: boolAttr(n, "suppressed", false),
		Groups:          r.checkRefs(n, label, "group", n.AttrValue("groups")),
		SecurityDomains: r.checkRefs(n, label, "security-domain", n.AttrValue("security-domains")),
		Location:        n.AttrValue("location"), Address: n.AttrValue("address"),
		WorkerPool: n.AttrValue("worker-pool"), ResourcePool: n.AttrValue("resource-pool"), AgentID: n.AttrValue("agent-id"),
		ExternalRef: textOrAttr(n, "external-ref"), Note: text(n, "note"),
		Category: textOrAttr(n, "category"), Application: textOrAttr(n, "application"),
		State:         StateSettings{FailedAfter: DefaultFailedAfter, RecoversAfter: DefaultRecoversAfter},
		Schedule:      Schedule{Every: DefaultEvery, RetryEvery: DefaultRetryEvery, ChangingEvery: DefaultChangingEvery},
		Notifications: r.notifications(n, label),
		Initially:     Initially{Status: "pending"},
		Depends:       splitList(text(n, "depends")),
		SLAs:          r.slas(n, label),
		Parameters:    map[string]string{},
		Source:        src(n),
	}
	r.checkRef(n, label, "location", c.Location)
	if d := n.Child("depends"); d != nil && len(c.Depends) > 0 {
		r.dependsAt[c] = d
	}
	if st := n.Child("state"); st != nil {
		if v, err := parseCount(st.AttrValue("failed-after")); err == nil {
			c.State.FailedAfter = v
		}
		if v, err := parseCount(st.AttrValue("recovers-after")); err == nil {
			c.State.RecoversAfter = v
		}
	}
	if sc := n.Child("schedule"); sc != nil {
		for attr, dst := range map[string]*int64{"every": (*int64)(&c.Schedule.Every),
			"retry-every": (*int64)(&c.Schedule.RetryEvery), "changing-every": (*int64)(&c.Schedule.ChangingEvery)} {
			if d, err := ParseInterval(sc.AttrValue(attr)); err == nil {
				*dst = int64(d)
			}
		}
		c.Schedule.TimePeriod = sc.AttrValue("time-period")
		r.checkRef(sc, label, "time-period", c.Schedule.TimePeriod)
	}
	if in := n.Child("initially"); in != nil {
		if s, ok := in.Attr("status"); ok {
			c.Initially.Status = s
		}
		c.Initially.Output = in.AttrValue("output")
	}
	if cond := n.Child("condition"); cond != nil {
		c.Condition = &Condition{Text: cond.Text, Source: src(cond)}
	}
	if c.Kind == "host" || c.Kind == "cluster" {
		host = c
	}
	env := newCheckEnv(r, c, host, n)
	for _, p := range n.ChildrenNamed("parameter") {
		c.Parameters[p.AttrValue("name")] = env.evalParam(p, label)
	}
	r.bindCommand(c, n, env, label)
	for _, child := range n.Children {
		if !isObjectElement(child.Element) {
			continue
		}
		cc := r.buildCheck(child, host, nestedLabel(label, child.Element, child.AttrValue("name")))
		switch child.Element {
		case "service":
			c.Services = append(c.Services, cc)
		case "trap":
			c.Traps = append(c.Traps, cc)
		case "resource":
			c.Resources = append(c.Resources, cc)
		}
	}
	return c
}

// bindCommand resolves the check's <check-command>, merges the command's
// parameters with the check's overrides and evaluates them for this check.
func (r *resolver) bindCommand(c *Check, n *Node, env *checkEnv, label string) {
	cc := n.Child("check-command")
	if cc == nil {
		return
	}
	name := cc.AttrValue("command")
	if name == "" {
		r.sink.add(cc, label, "check-command without a command attribute")
		return
	}
	r.checkRef(cc, label, "command", name)
	r.require("command", name)
	cmd := r.memo[key("command", name)]
	if cmd == nil {
		return
	}
	bound := &BoundCommand{Name: name, Engine: cmd.AttrValue("engine"), Executor: cmd.AttrValue("executor"),
		Script: text(cmd, "script"), Category: textOrAttr(cmd, "category"), Application: textOrAttr(cmd, "application"),
		Parameters: map[string]string{}}
	params := mergeByKey(cmd.ChildrenNamed("parameter"), cc.ChildrenNamed("parameter"), "name")
	env.bind(params)
	for _, p := range params {
		bound.Parameters[p.AttrValue("name")] = env.evalParam(p, label)
	}
	if c.Category == "" {
		c.Category = bound.Category
	}
	if c.Application == "" {
		c.Application = bound.Application
	}
	c.Command = bound
}
