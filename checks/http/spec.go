package http

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/netcheck"
	"github.com/bergamot-monitoring/bergamot/internal/netpolicy"
)

// spec is one check's parsed parameters.
type spec struct {
	url          *url.URL
	hostHeader   string
	serverName   string
	method       string
	headers      [][2]string
	body         string
	username     string
	password     string
	statuses     statusSet
	statusText   string
	times        netcheck.Thresholds
	length       *netcheck.Range
	contains     string
	regex        *regexp.Regexp
	jsonPath     string
	jsonValue    string
	hasJSONValue bool
	follow       bool
	maxRedirects int
	certWarn     int
	certCrit     int
	key          transportKey
}

// transportKey isolates connection pools by everything that changes what a
// connection is: the TLS identity, the proxy and the HTTP version.
type transportKey struct {
	tls     netcheck.TLSSettings
	proxy   string
	version string
	// net is the request's address policy (nil: any address); transports
	// are pooled per policy.
	net *netpolicy.Policy
}

func parseSpec(req *checks.Request, certOnly bool) (*spec, error) {
	s := &spec{method: strings.ToUpper(req.Param("method", "GET")), body: req.Param("body", "")}
	u, err := targetURL(req)
	if err != nil {
		return nil, err
	}
	s.url = u
	s.hostHeader = strings.TrimSpace(req.Param("virtual_host", ""))
	s.serverName = s.hostHeader
	if s.serverName == "" {
		s.serverName = u.Hostname()
	}
	if s.certWarn, err = req.IntParam("expires_in", 0); err != nil {
		return nil, err
	}
	if s.certCrit, err = req.IntParam("critical_expires_in", 0); err != nil {
		return nil, err
	}
	if certOnly {
		if req.Param("expires_in", "") == "" {
			s.certWarn = 28
		}
		if req.Param("critical_expires_in", "") == "" {
			s.certCrit = 7
		}
	}
	if err := s.parseChecks(req); err != nil {
		return nil, err
	}
	if err := s.parseRequest(req); err != nil {
		return nil, err
	}
	s.key = transportKey{proxy: req.Param("proxy", ""), version: strings.TrimSpace(req.Param("version", "")), net: req.Policy.Network()}
	switch s.key.version {
	case "", "1.0", "1.1", "2", "2.0":
	default:
		return nil, fmt.Errorf("parameter %q: %q is not an HTTP version (1.0, 1.1 or 2)", "version", s.key.version)
	}
	if s.url.Scheme == "https" {
		s.key.tls = netcheck.TLSSettingsFrom(req, s.serverName)
	}
	return s, nil
}

// targetURL builds the URL from url (or a path that is a whole URL), or
// from ssl, host, port and path.
func targetURL(req *checks.Request) (*url.URL, error) {
	raw := strings.TrimSpace(req.Param("url", ""))
	param := "url"
	if p := strings.TrimSpace(req.Param("path", "")); raw == "" && (strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://")) {
		raw, param = p, "path"
	}
	if raw != "" {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("parameter %q: %q is not an http(s) URL", param, raw)
		}
		return u, nil
	}
	host, err := netcheck.Host(req)
	if err != nil {
		return nil, err
	}
	scheme, def := "http", 80
	if req.BoolParam("ssl", false) || req.Executor == "certificate" {
		scheme, def = "https", 443
	}
	port, err := netcheck.Port(req, def)
	if err != nil {
		return nil, err
	}
	path := req.Param("path", "/")
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u, err := url.Parse(scheme + "://" + netcheck.Address(host, port) + path)
	if err != nil {
		return nil, fmt.Errorf("parameter %q: %q does not make a valid URL: %w", "path", path, err)
	}
	return u, nil
}

func (s *spec) parseChecks(req *checks.Request) error {
	var err error
	s.statusText = strings.TrimSpace(req.Param("status", "200-399"))
	if s.statuses, err = parseStatusSet(s.statusText); err != nil {
		return fmt.Errorf("parameter %q: %w", "status", err)
	}
	s.times, err = netcheck.ParseThresholds("warning_response_time", req.Param("warning_response_time", ""),
		"critical_response_time", req.Param("critical_response_time", ""))
	if err != nil {
		return err
	}
	if l := strings.TrimSpace(req.Param("length", "")); l != "" {
		if !strings.ContainsAny(l, ":@~") {
			l += ":" // a plain number is a minimum length
		}
		r, err := netcheck.ParseRange(l)
		if err != nil {
			return fmt.Errorf("parameter %q: %w", "length", err)
		}
		s.length = &r
	}
	s.contains = req.Param("contains", "")
	if re := req.Param("regex", ""); re != "" {
		if s.regex, err = regexp.Compile(re); err != nil {
			return fmt.Errorf("parameter %q: %w", "regex", err)
		}
	}
	s.jsonPath = strings.TrimSpace(req.Param("json_path", ""))
	s.jsonValue, s.hasJSONValue = req.Parameters["json_value"]
	return nil
}

func (s *spec) parseRequest(req *checks.Request) error {
	var err error
	s.follow = req.BoolParam("follow_redirects", false)
	if s.maxRedirects, err = req.IntParam("max_redirects", 10); err != nil {
		return err
	}
	for i, line := range strings.Split(req.Param("headers", ""), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return fmt.Errorf("parameter %q line %d: %q is not \"Name: value\"", "headers", i+1, line)
		}
		s.headers = append(s.headers, [2]string{strings.TrimSpace(name), strings.TrimSpace(value)})
	}
	if ct := req.Param("content_type", ""); ct != "" {
		s.headers = append(s.headers, [2]string{"Content-Type", ct})
	}
	s.username, s.password = req.Param("username", ""), req.Param("password", "")
	return nil
}

// statusSet is a set of accepted HTTP status codes: "200,301-304,2xx".
type statusSet [][2]int

func parseStatusSet(text string) (statusSet, error) {
	var set statusSet
	for _, item := range strings.Split(text, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if len(item) == 3 && strings.HasSuffix(strings.ToLower(item), "xx") && item[0] >= '1' && item[0] <= '5' {
			base := int(item[0]-'0') * 100
			set = append(set, [2]int{base, base + 99})
			continue
		}
		lo, hi, isRange := strings.Cut(item, "-")
		a, errA := strconv.Atoi(strings.TrimSpace(lo))
		b := a
		var errB error
		if isRange {
			b, errB = strconv.Atoi(strings.TrimSpace(hi))
		}
		if errA != nil || errB != nil || a < 100 || b > 599 || a > b {
			return nil, fmt.Errorf("%q is not a status code, range (200-299) or class (2xx)", item)
		}
		set = append(set, [2]int{a, b})
	}
	if len(set) == 0 {
		return nil, errors.New("no status codes given")
	}
	return set, nil
}

func (s statusSet) has(code int) bool {
	for _, r := range s {
		if code >= r[0] && code <= r[1] {
			return true
		}
	}
	return false
}
