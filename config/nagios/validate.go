package nagios

import (
	"fmt"
	"strconv"
	"strings"
)

// defaults are the values nagios4 fills in for directives a registered
// object does not set (as written to objects.cache). Bergamot conversion
// uses them; the fidelity test checks objects.cache agrees.
var defaults = map[string]map[string]string{
	"host": {
		"initial_state": "o", "importance": "0", "check_interval": "5", "retry_interval": "1",
		"active_checks_enabled": "1", "passive_checks_enabled": "1", "obsess": "1",
		"event_handler_enabled": "1", "low_flap_threshold": "0", "high_flap_threshold": "0",
		"flap_detection_enabled": "1", "flap_detection_options": "a", "freshness_threshold": "0",
		"check_freshness": "0", "notification_options": "a", "notifications_enabled": "1",
		"notification_interval": "30", "first_notification_delay": "0", "stalking_options": "n",
		"process_perf_data": "1", "retain_status_information": "1", "retain_nonstatus_information": "1",
	},
	"service": {
		"initial_state": "o", "importance": "0", "check_interval": "5", "retry_interval": "1",
		"is_volatile": "0", "parallelize_check": "1",
		"active_checks_enabled": "1", "passive_checks_enabled": "1", "obsess": "1",
		"event_handler_enabled": "1", "low_flap_threshold": "0", "high_flap_threshold": "0",
		"flap_detection_enabled": "1", "flap_detection_options": "a", "freshness_threshold": "0",
		"check_freshness": "0", "notification_options": "a", "notifications_enabled": "1",
		"notification_interval": "30", "first_notification_delay": "0", "stalking_options": "n",
		"process_perf_data": "1", "retain_status_information": "1", "retain_nonstatus_information": "1",
	},
	"contact": {
		"minimum_importance": "0", "host_notifications_enabled": "1", "service_notifications_enabled": "1",
		"can_submit_commands": "1", "retain_status_information": "1", "retain_nonstatus_information": "1",
		"host_notification_options": "n", "service_notification_options": "n",
	},
}

// valueOr returns o's value for key or nagios4's default.
func valueOr(o *Object, key string) string {
	if v := o.Get(key); v != "" {
		return v
	}
	return defaults[o.Type][key]
}

func (c *Config) validate() Errors {
	var errs Errors
	add := func(pos Position, f string, a ...any) { errs = append(errs, &Error{pos, fmt.Sprintf(f, a...)}) }
	for _, hn := range c.HostOrder {
		h := c.Hosts[hn]
		if !h.Has("alias") {
			h.Attrs["alias"] = Attr{Value: hn, Pos: h.Pos}
		}
		if n, err := strconv.Atoi(h.Get("max_check_attempts")); err != nil || n < 1 {
			add(h.Pos, "invalid max_check_attempts value for host '%s'", hn)
		}
		errs = append(errs, c.checkRefs(h, fmt.Sprintf("host '%s'", hn))...)
		for _, p := range splitList(h.Get("parents")) {
			if c.Hosts[p] == nil {
				add(h.Attrs["parents"].Pos, "'%s' is not a valid parent for host '%s'", p, hn)
			}
		}
	}
	checked := map[*Object]bool{}
	for _, s := range c.Services {
		if checked[s.Obj] {
			continue
		}
		checked[s.Obj] = true
		what := fmt.Sprintf("service '%s' on host '%s'", s.Description, s.Host)
		if n, err := strconv.Atoi(s.Obj.Get("max_check_attempts")); err != nil || n < 1 {
			add(s.Obj.Pos, "invalid max_check_attempts value for %s", what)
		}
		if s.Obj.Get("check_command") == "" {
			add(s.Obj.Pos, "no check_command specified for %s", what)
		}
		errs = append(errs, c.checkRefs(s.Obj, what)...)
	}
	for _, cn := range sortedKeys(c.Contacts) {
		ct := c.Contacts[cn]
		if !ct.Has("alias") {
			ct.Attrs["alias"] = Attr{Value: cn, Pos: ct.Pos}
		}
		errs = append(errs, c.checkRefs(ct, fmt.Sprintf("contact '%s'", cn))...)
	}
	for _, tn := range sortedKeys(c.Timeperiods) {
		errs = append(errs, c.checkTimeperiod(tn)...)
	}
	for _, o := range c.Other {
		errs = append(errs, c.checkRefs(o, o.Type+" definition")...)
	}
	return errs
}

func (c *Config) checkTimeperiod(name string) Errors {
	var errs Errors
	tp := c.Timeperiods[name]
	for k, a := range tp.Attrs {
		if day, ok := strings.CutPrefix(k, "range:"); ok {
			if err := checkTimerange(day, a.Value); err != nil {
				errs = append(errs, &Error{a.Pos, fmt.Sprintf("could not parse time range '%s %s' of timeperiod '%s': %v", day, a.Value, name, err)})
			}
		}
	}
	for _, ex := range splitList(tp.Get("exclude")) {
		if c.Timeperiods[ex] == nil {
			errs = append(errs, &Error{tp.Attrs["exclude"].Pos, fmt.Sprintf("excluded timeperiod '%s' specified in timeperiod '%s' is not defined anywhere", ex, name)})
		}
	}
	return errs
}

// checkRefs reports references from o to undefined commands, time periods,
// contacts and contact groups.
func (c *Config) checkRefs(o *Object, what string) Errors {
	var errs Errors
	miss := func(key, kind, name string) {
		errs = append(errs, &Error{o.Attrs[key].Pos, fmt.Sprintf("%s '%s' specified in %s (%s) is not defined anywhere", kind, name, what, key)})
	}
	for _, key := range []string{"check_command", "event_handler"} {
		if v := o.Get(key); v != "" {
			if cmd, _, _ := strings.Cut(v, "!"); c.Commands[cmd] == nil {
				miss(key, "command", cmd)
			}
		}
	}
	for _, key := range []string{"host_notification_commands", "service_notification_commands"} {
		for _, cmd := range splitList(o.Get(key)) {
			if cmd, _, _ = strings.Cut(cmd, "!"); c.Commands[cmd] == nil {
				miss(key, "command", cmd)
			}
		}
	}
	for _, key := range []string{"check_period", "notification_period", "host_notification_period", "service_notification_period", "escalation_period", "dependency_period"} {
		if v := o.Get(key); v != "" && c.Timeperiods[v] == nil {
			miss(key, "timeperiod", v)
		}
	}
	for _, g := range splitList(o.Get("contact_groups")) {
		if c.ContactGroups[g] == nil {
			miss("contact_groups", "contactgroup", g)
		}
	}
	for _, ct := range splitList(o.Get("contacts")) {
		if c.Contacts[ct] == nil {
			miss("contacts", "contact", ct)
		}
	}
	return errs
}
