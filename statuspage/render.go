package statuspage

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/store"
)

// Page is what one status page shows.
type Page struct {
	Title, Description string
	// Base is the page's path, Feed its feed's.
	Base, Feed string
	Overall    Condition
	Components []*Component
	// Active are open incidents and maintenance under way or to come;
	// Past are resolved ones of the last IncidentDays days.
	Active, Past []*store.StatusIncident
	// Updated is when the page was computed.
	Updated time.Time
	pageID  string
}

// Component is one line of the page.
type Component struct {
	ID, Name, Description string
	Condition             Condition
	Days                  []Day
	Uptime                float64
}

func buildPage(sp *store.StatusPage, comps []*store.StatusComponent, members map[string][]store.ComponentMember, days map[string][]Day,
	incidents []*store.StatusIncident, now time.Time) *Page {
	p := &Page{Title: sp.Title, Description: sp.Description, Updated: now, pageID: sp.ID}
	var conds []Condition
	for _, c := range comps {
		pc := &Component{ID: c.ID, Name: c.Name, Description: c.Description, Condition: ConditionOf(members[c.ID]), Days: days[c.ID]}
		pc.Uptime = Uptime(pc.Days)
		p.Components = append(p.Components, pc)
		conds = append(conds, pc.Condition)
	}
	for _, in := range incidents {
		if in.ResolvedAt == nil {
			p.Active = append(p.Active, in)
		} else {
			p.Past = append(p.Past, in)
		}
	}
	p.Overall = Worst(conds)
	return p
}

// Headline is the banner over the page.
func (p *Page) Headline() string {
	for _, in := range p.Active {
		if in.Kind == "incident" && in.Impact != "none" {
			return "Incident: " + in.Title
		}
	}
	switch p.Overall {
	case Operational:
		return "All systems operational"
	case Degraded:
		return "Some systems are degraded"
	case PartialOutage:
		return "Partial outage"
	case MajorOutage:
		return "Major outage"
	case Maintenance:
		return "Maintenance in progress"
	}
	return "No data yet"
}

// StateLabel is an incident state in words.
func StateLabel(s string) string {
	if s == "in_progress" {
		return "In progress"
	}
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

var funcs = template.FuncMap{
	"state": StateLabel,
	"when":  func(t time.Time) string { return t.UTC().Format("Jan 2, 2006 15:04 MST") },
	"day":   func(t time.Time) string { return t.UTC().Format("Jan 2, 2006") },
	"pct": func(f float64) string {
		if f < 0 {
			return "no data"
		}
		return fmt.Sprintf("%.2f%%", f)
	},
	"deref": func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return *t
	},
}

var pageTemplate = template.Must(template.New("page").Funcs(funcs).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} status</title>
<link rel="alternate" type="application/atom+xml" title="{{.Title}} status feed" href="{{.Feed}}">
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d2430}
main{max-width:860px;margin:0 auto;padding:32px 16px 48px}
h1{font-size:26px;margin:0 0 4px}
.desc{color:#5b6472;margin:0 0 20px}
.banner{border-radius:8px;padding:16px 20px;font-weight:600;font-size:18px;color:#fff;margin-bottom:24px}
.b-operational{background:#2f9e5b}.b-degraded{background:#d69e1b}.b-partial_outage{background:#e0712c}.b-major_outage{background:#d2453b}.b-maintenance{background:#3c74c9}.b-no_data{background:#8a93a0}
section{background:#fff;border:1px solid #e1e4e8;border-radius:8px;margin-bottom:24px}
section h2{font-size:16px;margin:0;padding:14px 20px;border-bottom:1px solid #e1e4e8}
.comp{padding:14px 20px;border-bottom:1px solid #eef0f2}.comp:last-child{border-bottom:0}
.row{display:flex;justify-content:space-between;gap:12px;align-items:baseline}
.name{font-weight:600}.cdesc{color:#5b6472;font-size:13px}
.c-operational{color:#2f9e5b}.c-degraded{color:#b7860f}.c-partial_outage{color:#d0601c}.c-major_outage{color:#d2453b}.c-maintenance{color:#3c74c9}.c-no_data{color:#8a93a0}
.bars{display:flex;gap:2px;margin:10px 0 4px;height:30px}
.bars span{flex:1;border-radius:2px;background:#c9ced6}
.bars .up{background:#2f9e5b}.bars .minor{background:#e0b43a}.bars .major{background:#d2453b}.bars .maint{background:#3c74c9}
.legend{display:flex;justify-content:space-between;color:#8a93a0;font-size:12px}
.inc{padding:14px 20px;border-bottom:1px solid #eef0f2}.inc:last-child{border-bottom:0}
.inc h3{margin:0 0 6px;font-size:15px}
.i-minor{color:#b7860f}.i-major{color:#d0601c}.i-critical{color:#d2453b}.i-none{color:#3c74c9}
.upd{margin:6px 0 0;font-size:14px}.upd b{font-weight:600}.upd time{color:#8a93a0;font-size:12px;display:block}
.empty{padding:14px 20px;color:#5b6472}
footer{color:#8a93a0;font-size:12px;text-align:center}
footer a{color:#5b6472}
</style></head>
<body><main>
<h1>{{.Title}}</h1>
{{with .Description}}<p class="desc">{{.}}</p>{{end}}
<div class="banner b-{{.Overall}}" id="overall">{{.Headline}}</div>
{{with .Active}}<section id="active"><h2>Current incidents and maintenance</h2>
{{range .}}{{template "incident" .}}{{end}}</section>{{end}}
<section id="components"><h2>Components</h2>
{{range .Components}}<div class="comp" id="c-{{.ID}}">
<div class="row"><span><span class="name">{{.Name}}</span>{{with .Description}} <span class="cdesc">{{.}}</span>{{end}}</span>
<span class="c-{{.Condition}}" data-condition="{{.Condition}}">{{.Condition.Label}}</span></div>
<div class="bars" aria-label="uptime over the last 90 days">{{range .Days}}<span class="{{.Class}}" title="{{day .Date}}: {{pct .Percent}}"></span>{{end}}</div>
<div class="legend"><span>90 days ago</span><span>{{pct .Uptime}} uptime</span><span>Today</span></div>
</div>{{else}}<p class="empty">No components yet.</p>{{end}}
</section>
<section id="history"><h2>Past incidents (14 days)</h2>
{{range .Past}}{{template "incident" .}}{{else}}<p class="empty">No incidents reported.</p>{{end}}
</section>
<footer>Updated {{when .Updated}} · <a href="{{.Feed}}">Atom feed</a> · Powered by Bergamot</footer>
</main></body></html>
{{define "incident"}}<div class="inc">
<h3 class="i-{{.Impact}}">{{.Title}}{{if eq .Kind "maintenance"}} <small>(maintenance {{when (deref .ScheduledFrom)}} – {{when (deref .ScheduledTo)}})</small>{{end}}</h3>
{{range $i, $u := .Updates}}<p class="upd"><b>{{state $u.State}}</b> – {{$u.Body}}<time>{{when $u.At}}</time></p>{{end}}
</div>{{end}}`))

func renderHTML(p *Page) ([]byte, error) {
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, p); err != nil {
		return nil, fmt.Errorf("rendering status page %q: %w", p.Title, err)
	}
	return b.Bytes(), nil
}

// The Atom feed (RFC 4287): one entry per incident, its content the
// updates newest first.
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomAuthor  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Href string `xml:"href,attr"`
	Type string `xml:"type,attr,omitempty"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomEntry struct {
	ID        string   `xml:"id"`
	Title     string   `xml:"title"`
	Updated   string   `xml:"updated"`
	Published string   `xml:"published"`
	Link      atomLink `xml:"link"`
	Content   atomText `xml:"content"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

// renderAtom writes p's feed; abs is the page's absolute URL.
func renderAtom(p *Page, abs string) ([]byte, error) {
	f := atomFeed{ID: "urn:uuid:" + p.pageID, Title: p.Title + " status", Updated: p.Updated.UTC().Format(time.RFC3339),
		Links:  []atomLink{{Rel: "self", Href: abs + "/feed.atom", Type: "application/atom+xml"}, {Rel: "alternate", Href: abs + "/", Type: "text/html"}},
		Author: atomAuthor{Name: p.Title}}
	latest := time.Time{}
	for _, in := range append(append([]*store.StatusIncident{}, p.Active...), p.Past...) {
		updated := in.CreatedAt
		var body bytes.Buffer
		for i := len(in.Updates) - 1; i >= 0; i-- {
			u := in.Updates[i]
			if u.At.After(updated) {
				updated = u.At
			}
			fmt.Fprintf(&body, "<p><b>%s</b> (%s): %s</p>\n", template.HTMLEscapeString(StateLabel(u.State)),
				u.At.UTC().Format(time.RFC1123), template.HTMLEscapeString(u.Body))
		}
		if updated.After(latest) {
			latest = updated
		}
		title := in.Title
		if in.Kind == "maintenance" {
			title = "Maintenance: " + title
		}
		title += " [" + StateLabel(in.State) + "]"
		f.Entries = append(f.Entries, atomEntry{ID: "urn:uuid:" + in.ID, Title: title, Updated: updated.UTC().Format(time.RFC3339),
			Published: in.CreatedAt.UTC().Format(time.RFC3339), Link: atomLink{Rel: "alternate", Href: abs + "/", Type: "text/html"},
			Content: atomText{Type: "html", Body: body.String()}})
	}
	if !latest.IsZero() {
		f.Updated = latest.UTC().Format(time.RFC3339)
	}
	out, err := xml.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("rendering status feed of %q: %w", p.Title, err)
	}
	return append([]byte(xml.Header), out...), nil
}
