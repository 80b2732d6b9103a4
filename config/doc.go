// Package config loads, validates, resolves, merges and exports Bergamot's
// XML configuration.
//
// The flow is:
//
//	doc, err := config.LoadPaths("site/")   // or Parse / ParseFile; err is an ErrorList
//	doc = doc.Merge(overlay)                 // overlay replaces objects; state="absent" removes
//	model, err := config.Resolve(doc)        // inheritance, references, #{...} evaluated
//	changes := config.Diff(old, doc)         // added / changed / removed, canonical text
//	xml, err := config.Export(doc)           // re-loads to the same document; no secrets
//
// A Document is the source form (objects by kind and name, each with its
// file and line); a Model is the resolved form: concrete hosts with their
// services and traps, clusters with their resources, and the supporting
// commands, time periods, teams, contacts, locations, groups, credentials and
// security domains. Templates (template="yes") are only inherited.
//
// Parameter expressions are parsed and evaluated by package config/expr;
// time ranges are checked with config/timeperiod; cluster and resource
// conditions are kept as text for monitor/virtual.
package config
