package config

import "time"

// Bergamot's defaults for settings a check leaves unspecified.
const (
	DefaultEvery         = 5 * time.Minute
	DefaultRetryEvery    = time.Minute
	DefaultChangingEvery = time.Minute
	DefaultFailedAfter   = 4
	DefaultRecoversAfter = 10
)

// Model is a resolved configuration: inheritance applied, templates dropped,
// references checked and parameter expressions evaluated.
type Model struct {
	Site        string
	Summary     string
	Description string
	// Parameters are the site parameters (#{global.x} / #{site.x}).
	Parameters map[string]string

	Hosts           []*Check // kind "host", each with Services and Traps
	Clusters        []*Check // kind "cluster", each with Resources
	Commands        map[string]*Command
	TimePeriods     map[string]*TimePeriod
	Contacts        map[string]*Contact
	Teams           map[string]*Team
	Locations       map[string]*Location
	Groups          map[string]*Group
	Credentials     map[string]*Credential
	SecurityDomains map[string]*SecurityDomain
	// MetricsExports are the site's <metrics-export> targets
	// (docs/metrics-export.md).
	MetricsExports map[string]*MetricsExport

	// Warnings are problems in objects nothing concrete uses (an unused
	// command extending a missing template, say): reported, not fatal.
	Warnings ErrorList
}

// Source is where a resolved object was defined.
type Source struct {
	File string
	Line int
}

// Check is a concrete host, service, trap, cluster or resource.
type Check struct {
	Kind            string // host, service, trap, cluster, resource
	Name            string
	Summary         string
	Description     string
	Enabled         bool
	Suppressed      bool
	Groups          []string
	SecurityDomains []string
	Location        string // hosts
	Address         string // hosts
	WorkerPool      string
	ResourcePool    string
	AgentID         string
	ExternalRef     string
	Note            string
	Category        string // falls back to the command's
	Application     string // falls back to the command's
	State           StateSettings
	Schedule        Schedule
	Notifications   Notifications
	Initially       Initially
	// Depends are the <depends> entries as written; DependsOn the checks
	// they name, resolved and checked by Resolve (see depends.go).
	Depends   []string
	SLAs      []SLA    // service level agreements (<sla>)
	DependsOn []*Check `json:"-"`
	// Parameters are the check's own <parameter>s, evaluated.
	Parameters map[string]string
	// Command is the bound check command (nil for virtual checks and for
	// checks without a check-command).
	Command *BoundCommand
	// Condition is the virtual check condition of clusters and resources.
	Condition *Condition

	Services  []*Check // hosts
	Traps     []*Check // hosts
	Resources []*Check // clusters

	Source Source
}

// StateSettings control soft/hard state transitions.
type StateSettings struct {
	FailedAfter   int
	RecoversAfter int
}

// Schedule controls how often an active check runs.
type Schedule struct {
	Every         time.Duration
	RetryEvery    time.Duration
	ChangingEvery time.Duration
	TimePeriod    string
}

// Notifications configure when and whom a check notifies.
type Notifications struct {
	Enabled     bool
	Alerts      bool
	Recovery    bool
	Acknowledge bool
	AllEngines  bool
	TimePeriod  string
	Ignore      []string
	Engines     []NotificationEngine
	Escalations []Escalation
	Teams       []string // from <notify>
	Contacts    []string // from <notify>
	// RenotifyEvery repeats problem notifications while a problem lasts
	// (<notifications renotify-every="30m">); 0 (unset, or "0" to override
	// a template) notifies once.
	RenotifyEvery time.Duration
}

// NotificationEngine configures one delivery channel.
type NotificationEngine struct {
	Engine     string
	Enabled    bool
	Alerts     bool
	Recovery   bool
	TimePeriod string
	Ignore     []string
}

// Escalation notifies more people once an alert has lasted After.
type Escalation struct {
	After      time.Duration
	TimePeriod string
	Ignore     []string
	Renotify   bool
	Teams      []string
	Contacts   []string
}

// Initially is a check's state before its first result.
type Initially struct {
	Status string
	Output string
}

// Condition is the raw text of a cluster's or resource's virtual check
// condition, parsed by monitor/virtual.
type Condition struct {
	Text string
	Source
}

// BoundCommand is the command a check runs, with the merged parameters of the
// command, its ancestors and the check's <check-command> evaluated for that
// check.
type BoundCommand struct {
	Name        string
	Engine      string
	Executor    string
	Script      string
	Category    string
	Application string
	Parameters  map[string]string
}

// Command is a resolved (non-template) command definition. Parameter values
// are the raw, unevaluated text.
type Command struct {
	Name        string
	Summary     string
	Description string
	Engine      string
	Executor    string
	Script      string
	Category    string
	Application string
	Parameters  []Parameter
	Source      Source
}

// Parameter is a name/value pair as written.
type Parameter struct {
	Name        string
	Value       string
	Description string
}

// TimePeriod is a named calendar. Ranges are kept as written.
type TimePeriod struct {
	Name        string
	Summary     string
	Description string
	TimeZone    string
	Excludes    []string
	Ranges      []TimeRange
	Source      Source
}

// TimeRange is one <time-range> as written, for config/timeperiod to parse.
type TimeRange struct {
	Text string
	Source
}

// AccessControl grants or revokes permissions over one security domain.
type AccessControl struct {
	SecurityDomain string
	Grants         []string
	Revokes        []string
}

// Team is a set of contacts that can be notified and granted permissions.
type Team struct {
	Name            string
	Summary         string
	Description     string
	Teams           []string // parent teams
	Grants          []string
	Revokes         []string
	SecurityDomains []string
	AccessControls  []AccessControl
	Parameters      map[string]string
	Source          Source
}

// Contact is a person (or machine) to notify.
type Contact struct {
	Name            string
	Summary         string
	Description     string
	FirstName       string
	PreferredName   string
	FamilyName      string
	FullName        string
	Email           string
	Pager           string
	Mobile          string
	Phone           string
	IM              string
	Teams           []string
	Grants          []string
	Revokes         []string
	SecurityDomains []string
	AccessControls  []AccessControl
	Notifications   Notifications
	Parameters      map[string]string
	Source          Source
}

// Location is a place that contains hosts; locations form a tree.
type Location struct {
	Name        string
	Summary     string
	Description string
	Parent      string
	Children    []string
	WorkerPool  string
	Parameters  map[string]string
	Source      Source
}

// Group is a set of checks; groups form a tree (a group may have several
// parents).
type Group struct {
	Name        string
	Summary     string
	Description string
	Parents     []string
	Children    []string
	Parameters  map[string]string
	SLAs        []SLA
	Source      Source
}

// Credential is a username and secret used by checks through
// resolve_credentials().
type Credential struct {
	Name      string
	Summary   string
	Username  string
	Password  string
	KeyID     string
	KeySecret string
	Source    Source
}

// SecurityDomain is a set of checks sharing access controls.
type SecurityDomain struct {
	Name        string
	Summary     string
	Description string
	Source      Source
}

// CredentialResolver finds the credential resolve_credentials(name) refers
// to. The default one reads the configuration's credential objects, trying
// name and then "default_"+name.
type CredentialResolver interface {
	ResolveCredential(name string) (*Credential, error)
}
