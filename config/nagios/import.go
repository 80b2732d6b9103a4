package nagios

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Options controls an import.
type Options struct {
	// Site is the Bergamot site name written to <bergamot site="...">;
	// "nagios-import" when empty.
	Site string
}

// Import reads a main nagios.cfg or object files and directories, resolves
// and validates them like nagios4 and converts them to Bergamot XML.
func Import(paths ...string) (*Result, error) {
	return ImportContext(context.Background(), Options{}, paths...)
}

// ImportContext is Import with a context and options. Configuration errors
// are returned as Errors (each naming file and line).
func ImportContext(ctx context.Context, opts Options, paths ...string) (*Result, error) {
	c, err := Load(ctx, paths...)
	if err != nil {
		return nil, err
	}
	return Convert(c, opts.Site), nil
}

// Load reads and resolves a Nagios configuration. Each path is a main
// configuration file (recognised by cfg_file, cfg_dir or resource_file
// lines), an object file, or a directory searched recursively for *.cfg.
func Load(ctx context.Context, paths ...string) (*Config, error) {
	if len(paths) == 0 {
		return nil, errors.New("nagios: no configuration files given")
	}
	var files, resources []string
	var intervalLength int
	var intervalFrom string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("nagios: %w", err)
		}
		if st.IsDir() {
			fs, err := cfgFiles(p)
			if err != nil {
				return nil, err
			}
			files = append(files, fs...)
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("nagios: %w", err)
		}
		if !isMainConfig(data) {
			files = append(files, p)
			continue
		}
		mc, err := parseMain(p, bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		files = append(files, mc.CfgFiles...)
		for _, d := range mc.CfgDirs {
			fs, err := cfgFiles(d)
			if err != nil {
				return nil, err
			}
			files = append(files, fs...)
		}
		resources = append(resources, mc.ResourceFiles...)
		if mc.IntervalLength != 0 {
			if intervalLength != 0 && intervalLength != mc.IntervalLength {
				return nil, fmt.Errorf("nagios: %s sets interval_length=%d but %s sets %d: import them separately", p, mc.IntervalLength, intervalFrom, intervalLength)
			}
			intervalLength, intervalFrom = mc.IntervalLength, p
		}
	}
	res := map[string]string{}
	for _, r := range resources {
		m, err := ParseResource(ctx, r)
		if err != nil {
			return nil, err
		}
		for k, v := range m {
			res[k] = v
		}
	}
	var objs []*Object
	var errs Errors
	for _, f := range files {
		o, err := ParseFile(ctx, f)
		objs = append(objs, o...)
		var pe Errors
		switch {
		case errors.As(err, &pe):
			errs = append(errs, pe...)
		case err != nil:
			return nil, err
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	c, err := Resolve(objs, res)
	if c != nil {
		c.IntervalLength = intervalLength
	}
	return c, err
}

// isMainConfig reports whether data looks like a main nagios.cfg.
func isMainConfig(data []byte) bool {
	for _, ln := range logicalLines(data) {
		for _, k := range []string{"cfg_file=", "cfg_dir=", "resource_file="} {
			if strings.HasPrefix(ln.text, k) {
				return true
			}
		}
	}
	return false
}

// cfgFiles lists *.cfg files under dir, recursively and sorted, like
// nagios4's cfg_dir.
func cfgFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".cfg") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("nagios: cfg_dir %s: %w", dir, err)
	}
	sort.Strings(out)
	return out, nil
}
