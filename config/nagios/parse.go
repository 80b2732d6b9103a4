package nagios

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Position is a place in a configuration file.
type Position struct {
	File string
	Line int
}

// String formats the position as file:line.
func (p Position) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Attr is one directive value of an object together with where it was set.
// Null is true when the value was the keyword "null", which cancels an
// inherited value.
type Attr struct {
	Value string
	Null  bool
	Pos   Position
}

// Object is one raw `define TYPE { ... }` block.
type Object struct {
	Type string
	Pos  Position
	// Attrs holds every directive except use, name and register, keyed by
	// its canonical name (see directive aliases). Custom variables are
	// upper-cased and keep their leading underscore.
	Attrs map[string]Attr
	// Use is the raw list of template names, split on ',' only (nagios4
	// does not trim spaces, so "a, b" refers to a template named " b").
	Use     []string
	UsePos  Position
	Name    string
	Templat bool // register 0
	// resolution state
	resolved  bool
	resolving bool
}

// Has reports whether the object has (or inherited) directive key.
func (o *Object) Has(key string) bool { _, ok := o.Attrs[key]; return ok }

// Get returns the value of directive key, "" when absent or null.
func (o *Object) Get(key string) string {
	a, ok := o.Attrs[key]
	if !ok || a.Null {
		return ""
	}
	return a.Value
}

// Error is a configuration problem at a position.
type Error struct {
	Pos Position
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Errors is a list of configuration problems; it is returned as one error.
type Errors []*Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

func (es Errors) sorted() Errors {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Pos.File != es[j].Pos.File {
			return es[i].Pos.File < es[j].Pos.File
		}
		return es[i].Pos.Line < es[j].Pos.Line
	})
	return es
}

// objectTypes lists every object type the parser accepts.
var objectTypes = map[string]bool{
	"host": true, "hostgroup": true, "service": true, "servicegroup": true,
	"contact": true, "contactgroup": true, "timeperiod": true, "command": true,
	"hostdependency": true, "servicedependency": true, "hostescalation": true,
	"serviceescalation": true, "hostextinfo": true, "serviceextinfo": true,
}

// typeAliases are the short directive names nagios4 4.4.6 accepts in
// some object types (checked with nagios4 -vp): `host` for `host_name`,
// `description` for `service_description` and so on. An empty value
// (`action_url` with nothing after it) is accepted too and sets the
// directive to the empty string, as nagios4 does.
var typeAliases = map[string]map[string]string{
	"service":           {"host": "host_name", "hosts": "host_name", "hostgroup": "hostgroup_name"},
	"hostdependency":    {"host": "host_name", "dependent_host": "dependent_host_name"},
	"servicedependency": {"host": "host_name", "description": "service_description", "dependent_host": "dependent_host_name", "dependent_description": "dependent_service_description"},
	"hostescalation":    {"host": "host_name"},
	"serviceescalation": {"host": "host_name", "description": "service_description"},
}

// directiveAliases maps old or alternative directive names to the name
// nagios4 uses in objects.cache.
var directiveAliases = map[string]string{
	"host_groups":            "hostgroups",
	"service_groups":         "servicegroups",
	"contactgroups_members":  "contactgroup_members",
	"normal_check_interval":  "check_interval",
	"retry_check_interval":   "retry_interval",
	"obsess_over_host":       "obsess",
	"obsess_over_service":    "obsess",
	"host_groups_members":    "hostgroup_members",
	"service_groups_members": "servicegroup_members",
	// nagios4 accepts both spellings of the dependency criteria.
	"execution_failure_options":    "execution_failure_criteria",
	"notification_failure_options": "notification_failure_criteria",
}

// ParseFile reads one Nagios object configuration file, following its
// include_file and include_dir directives (relative to the file's folder).
func ParseFile(ctx context.Context, path string) ([]*Object, error) {
	return parseFileSeen(ctx, path, map[string]bool{})
}

func parseFileSeen(ctx context.Context, path string, seen map[string]bool) ([]*Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(path)
	if seen[abs] {
		return nil, nil // included twice (or in a loop): nagios reads it once
	}
	seen[abs] = true
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nagios: read object file: %w", err)
	}
	objs, perr := ParseObjects(path, data)
	var errs Errors
	if perr != nil && !errors.As(perr, &errs) {
		return objs, perr
	}
	for _, ln := range logicalLines(data) {
		key, val, ok := strings.Cut(ln.text, "=")
		key = strings.TrimSpace(key)
		if !ok || (key != "include_file" && key != "include_dir") {
			continue
		}
		target := strings.TrimSpace(val)
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		var files []string
		if key == "include_dir" {
			_ = filepath.WalkDir(target, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && strings.HasSuffix(p, ".cfg") {
					files = append(files, p)
				}
				return nil
			})
		} else {
			files = []string{target}
		}
		for _, f := range files {
			more, err := parseFileSeen(ctx, f, seen)
			var sub Errors
			switch {
			case errors.As(err, &sub):
				errs = append(errs, sub...)
			case err != nil:
				errs = append(errs, &Error{Position{File: path, Line: ln.no}, fmt.Sprintf("%s=%s: %v", key, strings.TrimSpace(val), err)})
			}
			objs = append(objs, more...)
		}
	}
	if len(errs) > 0 {
		return objs, errs
	}
	return objs, nil
}

// ParseObjects parses Nagios object definitions from data; name is used in
// positions. include_file and include_dir directives are skipped here;
// ParseFile follows them.
func ParseObjects(name string, data []byte) ([]*Object, error) {
	var (
		objs []*Object
		cur  *Object
		errs Errors
	)
	lines := logicalLines(data)
	for _, ln := range lines {
		pos := Position{File: name, Line: ln.no}
		line := ln.text
		if line == "" {
			continue
		}
		if cur == nil {
			if strings.HasPrefix(line, "include_file=") || strings.HasPrefix(line, "include_dir=") {
				continue // followed by ParseFile
			}
			rest, ok := strings.CutPrefix(line, "define")
			if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t' && rest[0] != '{') {
				errs = append(errs, &Error{pos, fmt.Sprintf("unexpected %q outside of an object definition", line)})
				continue
			}
			rest = strings.TrimSpace(rest)
			typ, after, hasBrace := strings.Cut(rest, "{")
			typ = strings.TrimSpace(typ)
			if !hasBrace || strings.TrimSpace(after) != "" {
				errs = append(errs, &Error{pos, fmt.Sprintf("malformed object definition %q (expected 'define TYPE {')", line)})
				continue
			}
			if !objectTypes[typ] {
				errs = append(errs, &Error{pos, fmt.Sprintf("invalid object definition type '%s'", typ)})
				typ = "" // parse and discard the body
			}
			cur = &Object{Type: typ, Pos: pos, Attrs: map[string]Attr{}}
			continue
		}
		closing := false
		if line == "}" {
			closing = true
			line = ""
		} else if strings.HasSuffix(line, "}") && !strings.HasSuffix(line, "\\}") {
			closing = true
			line = strings.TrimSpace(strings.TrimSuffix(line, "}"))
		}
		if line != "" {
			if e := cur.set(line, pos); e != nil {
				errs = append(errs, e)
			}
		}
		if closing {
			if cur.Type != "" {
				objs = append(objs, cur)
			}
			cur = nil
		}
	}
	if cur != nil {
		errs = append(errs, &Error{cur.Pos, fmt.Sprintf("unexpected end of file inside %s definition (missing '}')", cur.Type)})
	}
	if len(errs) > 0 {
		return objs, errs
	}
	return objs, nil
}

func (o *Object) set(line string, pos Position) *Error {
	key, val, _ := strings.Cut(line, " ")
	if k2, v2, ok := strings.Cut(line, "\t"); ok && len(k2) < len(key) {
		key, val = k2, v2
	}
	val = strings.TrimSpace(val)
	switch key {
	case "use":
		if val == "" {
			return nil // nagios4: no template
		}
		o.Use = strings.Split(val, ",")
		o.UsePos = pos
		return nil
	case "name":
		o.Name = val
		return nil
	case "register":
		o.Templat = val == "0"
		return nil
	}
	if strings.HasPrefix(key, "_") {
		key = strings.ToUpper(key)
	} else if a, ok := directiveAliases[key]; ok {
		key = a
	} else if a, ok := typeAliases[o.Type][key]; ok {
		key = a
	}
	if o.Type == "timeperiod" && isTimerangeKey(key) {
		// "monday 1 - wednesday 3 10:00-11:00": the key is everything
		// before the final space-separated time list.
		key, val = splitTimerange(line)
		key = "range:" + key
	}
	o.Attrs[key] = Attr{Value: val, Null: val == "null", Pos: pos}
	return nil
}

type logicalLine struct {
	no   int
	text string
}

// logicalLines strips comments, joins backslash continuations and trims
// whitespace, like nagios4's config reader.
func logicalLines(data []byte) []logicalLine {
	var out []logicalLine
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	no := 0
	var pending strings.Builder
	start := 0
	for sc.Scan() {
		no++
		raw := strings.TrimRight(sc.Text(), "\r")
		if pending.Len() == 0 {
			start = no
		}
		if strings.HasSuffix(raw, "\\") && !strings.HasSuffix(raw, "\\\\") {
			pending.WriteString(strings.TrimSuffix(raw, "\\"))
			continue
		}
		pending.WriteString(raw)
		out = append(out, logicalLine{start, stripComment(pending.String())})
		pending.Reset()
	}
	if pending.Len() > 0 {
		out = append(out, logicalLine{start, stripComment(pending.String())})
	}
	return out
}

func stripComment(s string) string {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "#") || strings.HasPrefix(t, ";") {
		return ""
	}
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		if t[i] == '\\' && i+1 < len(t) && t[i+1] == ';' {
			b.WriteByte(';')
			i++
			continue
		}
		if t[i] == ';' {
			break
		}
		b.WriteByte(t[i])
	}
	return strings.TrimSpace(b.String())
}

// MainConfig is what the importer uses from a main nagios.cfg.
type MainConfig struct {
	CfgFiles      []string
	CfgDirs       []string
	ResourceFiles []string
	// IntervalLength is interval_length: the seconds in one unit of the
	// object directives check_interval, retry_interval,
	// notification_interval and first_notification_delay; 0 when the file
	// does not set it (nagios4's default is 60).
	IntervalLength int
}

// ParseMainConfig reads cfg_file, cfg_dir, resource_file and
// interval_length from a main configuration; relative paths are resolved
// against its directory.
func ParseMainConfig(ctx context.Context, path string) (*MainConfig, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("nagios: open main config: %w", err)
	}
	defer f.Close()
	return parseMain(path, f)
}

func parseMain(path string, r io.Reader) (*MainConfig, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("nagios: read main config: %w", err)
	}
	mc := &MainConfig{}
	dir := filepath.Dir(path)
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	for _, ln := range logicalLines(data) {
		k, v, ok := strings.Cut(ln.text, "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "cfg_file":
			mc.CfgFiles = append(mc.CfgFiles, abs(v))
		case "cfg_dir":
			mc.CfgDirs = append(mc.CfgDirs, abs(v))
		case "resource_file":
			mc.ResourceFiles = append(mc.ResourceFiles, abs(v))
		case "interval_length":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, Errors{{Position{File: path, Line: ln.no}, fmt.Sprintf("interval_length '%s' is not a positive whole number of seconds", v)}}
			}
			mc.IntervalLength = n
		}
	}
	return mc, nil
}

// ParseResource reads $USERn$ macro definitions from a resource.cfg.
func ParseResource(ctx context.Context, path string) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nagios: read resource file: %w", err)
	}
	out := map[string]string{}
	for _, ln := range logicalLines(data) {
		k, v, ok := strings.Cut(ln.text, "=")
		k = strings.TrimSpace(k)
		if ok && strings.HasPrefix(k, "$USER") && strings.HasSuffix(k, "$") {
			out[strings.Trim(k, "$")] = strings.TrimSpace(v)
		}
	}
	return out, nil
}
