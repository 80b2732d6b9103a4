package dispatch

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/bergamot-monitoring/bergamot/notifiers"
)

// TemplatePrefix starts the site parameters that override message
// templates: template.CHANNEL.TYPE.subject, template.CHANNEL.TYPE.body and
// template.email.TYPE.html, where TYPE is a notification type (alert,
// recovery, ...) or "default".
const TemplatePrefix = "template."

// siteTemplates builds (and caches by content) the templates of a site:
// the defaults with the site's overrides applied.
type siteTemplates struct {
	mu    sync.Mutex
	cache map[string]*notifiers.Templates
}

func templateParams(p Params) []string {
	var keys []string
	for k := range p {
		if strings.HasPrefix(k, TemplatePrefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// applyTemplateParams applies the template.* parameters of p to t.
func applyTemplateParams(t *notifiers.Templates, p Params) error {
	for _, k := range templateParams(p) {
		parts := strings.Split(strings.TrimPrefix(k, TemplatePrefix), ".")
		if len(parts) != 3 {
			return fmt.Errorf("parameter %s: want template.CHANNEL.TYPE.subject|body|html", k)
		}
		channel, typ, part := parts[0], notifiers.Type(parts[1]), parts[2]
		var err error
		switch {
		case part == "subject":
			err = t.Override(channel, typ, p[k], "")
		case part == "body":
			err = t.Override(channel, typ, "", p[k])
		case part == "html" && channel == "email":
			err = t.OverrideHTML(typ, p[k])
		default:
			err = fmt.Errorf("unknown part %q (want subject, body, or html for email)", part)
		}
		if err != nil {
			return fmt.Errorf("parameter %s: %w", k, err)
		}
	}
	return nil
}

// forSite returns def when the site overrides nothing, else the site's own set.
func (s *siteTemplates) forSite(def *notifiers.Templates, p Params) (*notifiers.Templates, error) {
	keys := templateParams(p)
	if len(keys) == 0 {
		return def, nil
	}
	h := sha256.New()
	for _, k := range keys {
		_, _ = fmt.Fprintf(h, "%s\x00%s\x00", k, p[k]) // a hash.Hash's Write never fails
	}
	sum := hex.EncodeToString(h.Sum(nil))
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.cache[sum]; ok {
		return t, nil
	}
	t := notifiers.DefaultTemplates()
	if err := applyTemplateParams(t, p); err != nil {
		return nil, err
	}
	if s.cache == nil || len(s.cache) > 1000 {
		s.cache = map[string]*notifiers.Templates{}
	}
	s.cache[sum] = t
	return t, nil
}
