package nagios

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// fixtures is the shared Nagios import fixture set (see sharedFixturesBase).
var fixtures = filepath.Join(sharedFixturesBase(), "nagios", "import")

// cacheObject is one block of a nagios4 objects.cache file.
type cacheObject struct {
	typ   string
	attrs map[string]string
}

// parseObjectsCache reads nagios4's objects.cache format: "define TYPE {",
// then "\tkey\tvalue" lines (keys may contain spaces for time ranges),
// then "\t}".
func parseObjectsCache(t *testing.T, path string) []cacheObject {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []cacheObject
	var cur *cacheObject
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "define "):
			cur = &cacheObject{typ: strings.TrimSuffix(strings.TrimPrefix(line, "define "), " {"), attrs: map[string]string{}}
		case strings.TrimSpace(line) == "}":
			out = append(out, *cur)
			cur = nil
		case cur != nil && strings.HasPrefix(line, "\t"):
			k, v, _ := strings.Cut(line[1:], "\t")
			cur.attrs[k] = v
		}
	}
	return out
}

// edgeInputs is the configuration nagios4 resolved into edge.objects.cache:
// Debian's nagios.cfg object files, the monitoring-plugins command
// definitions (/etc/nagios-plugins/config) and edge.cfg.
func edgeInputs(t *testing.T, edge string) []string {
	t.Helper()
	var files []string
	for _, f := range []string{"commands", "contacts", "timeperiods", "templates", "localhost"} {
		files = append(files, filepath.Join(fixtures, "debian-samples", f+".cfg"))
	}
	plugins, _ := filepath.Glob("/etc/nagios-plugins/config/*.cfg")
	if len(plugins) == 0 {
		t.Fatal("/etc/nagios-plugins/config is missing: install monitoring-plugins-basic and monitoring-plugins-standard")
	}
	files = append(files, plugins...)
	return append(files, filepath.Join(fixtures, edge))
}

// fromVechost reports cache objects that come from a host "vechost" and a
// command "vecplugin" that were in nagios4's configuration when the
// fixture was generated but are not part of edge.cfg or Debian's samples.
func fromVechost(o cacheObject) bool {
	return o.attrs["host_name"] == "vechost" || o.attrs["command_name"] == "vecplugin"
}

// notInCache lists directives nagios4 does not write per object because
// it writes them as group members instead.
var notInCache = map[string]bool{"hostgroups": true, "servicegroups": true, "contactgroups": true,
	"hostgroup_members": true, "servicegroup_members": true, "contactgroup_members": true}

func ourView(c *Config) map[string]map[string]string {
	out := map[string]map[string]string{}
	put := func(key string, o *Object, extra map[string]string) {
		m := map[string]string{}
		for k, a := range o.Attrs {
			if a.Null || notInCache[k] || (o.Type == "service" && k == "hostgroup_name") {
				continue
			}
			m[strings.TrimPrefix(k, "range:")] = strings.Join(strings.Fields(a.Value), " ")
		}
		for k, v := range extra {
			m[k] = v
		}
		out[key] = m
	}
	for n, o := range c.Hosts {
		put("host/"+n, o, nil)
	}
	for _, s := range c.Services {
		put("service/"+s.Host+"/"+s.Description, s.Obj, map[string]string{"host_name": s.Host})
	}
	for n, o := range c.Contacts {
		put("contact/"+n, o, nil)
	}
	for n, o := range c.Timeperiods {
		put("timeperiod/"+n, o, nil)
	}
	for n, o := range c.Commands {
		put("command/"+n, o, nil)
	}
	for _, gs := range []map[string]*Group{c.HostGroups, c.ServiceGroups, c.ContactGroups} {
		for n, g := range gs {
			extra := map[string]string{}
			if len(g.Members) > 0 {
				extra["members"] = strings.Join(g.Members, ",")
			}
			put(g.Obj.Type+"/"+n, g.Obj, extra)
		}
	}
	return out
}

func cacheKey(o cacheObject) string {
	switch o.typ {
	case "service":
		return "service/" + o.attrs["host_name"] + "/" + o.attrs["service_description"]
	default:
		return o.typ + "/" + o.attrs[identityKey[o.typ]]
	}
}

// sameValue compares a nagios4 value with ours: numbers numerically,
// option and name lists as sets (nagios4 re-orders them).
func sameValue(key, cache, ours string) bool {
	if cache == ours {
		return true
	}
	if a, err := strconv.ParseFloat(cache, 64); err == nil {
		b, err := strconv.ParseFloat(ours, 64)
		return err == nil && a == b
	}
	if strings.HasSuffix(key, "_options") || key == "members" || key == "contact_groups" || key == "contacts" || key == "parents" || key == "exclude" {
		a, b := splitList(cache), splitList(ours)
		sort.Strings(a)
		sort.Strings(b)
		return strings.Join(a, ",") == strings.Join(b, ",")
	}
	return strings.Join(strings.Fields(cache), " ") == strings.Join(strings.Fields(ours), " ")
}

func TestResolveMatchesNagiosObjectsCache(t *testing.T) {
	c, err := Load(context.Background(), edgeInputs(t, "edge.cfg")...)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	ours := ourView(c)
	seen := map[string]bool{}
	compared := 0
	for _, co := range parseObjectsCache(t, filepath.Join(fixtures, "edge.objects.cache")) {
		if fromVechost(co) {
			continue
		}
		key := cacheKey(co)
		seen[key] = true
		m, ok := ours[key]
		if !ok {
			t.Errorf("%s: in objects.cache but not resolved by us", key)
			continue
		}
		for k, v := range co.attrs {
			if k == "members" {
				v = strings.ReplaceAll(strings.ReplaceAll(v, "vechost,", ""), ",vechost", "")
			}
			ov, has := m[k]
			if !has {
				// nagios4 fills in defaults for directives nobody set.
				def, isDef := defaults[co.typ][k]
				if k == "alias" {
					def, isDef = co.attrs[identityKey[co.typ]], true
				}
				if !isDef || !sameValue(k, v, def) {
					t.Errorf("%s: %s = %q in objects.cache, we have nothing (default %q)", key, k, v, def)
				}
				continue
			}
			compared++
			if !sameValue(k, v, ov) {
				t.Errorf("%s: %s = %q in objects.cache, we have %q", key, k, v, ov)
			}
		}
		for k, v := range m {
			if _, ok := co.attrs[k]; !ok {
				t.Errorf("%s: we have %s = %q, objects.cache does not", key, k, v)
			}
		}
	}
	for k := range ours {
		if !seen[k] {
			t.Errorf("%s: resolved by us but not in objects.cache", k)
		}
	}
	t.Logf("compared %d objects, %d explicit attributes", len(seen), compared)
}
