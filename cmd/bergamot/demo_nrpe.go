package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"sort"
	"text/template"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/internal/devnrpe"
)

// demoNRPEService is one NRPE service of the stock linux-server-nrpe
// template and its command.
type demoNRPEService struct{ Name, Command string }

// demoNRPEServices are the template's NRPE services: the demo sets their
// port when the private daemon does not listen on NRPE's default port.
func demoNRPEServices() []demoNRPEService {
	return []demoNRPEService{
		{"memory", "check-nrpe-mem"},
		{"load", "check-nrpe-load"},
		{"users", "check-nrpe-users"},
		{"zombie-procs", "check-zombie-procs"},
		{"total-procs", "check-total-procs"},
		{"disk-space-root", "check-disk-space-root"},
		{"local-ntp-offset", "check-local-ntp-offset"},
	}
}

// startDemoNRPE starts the demo's private NRPE daemon in BERGAMOT_DATA/nrpe
// and returns its port, or 0 (after one log line) when it cannot run: the
// demo then has no NRPE host. The daemon stops when ctx ends.
func startDemoNRPE(ctx context.Context, env *Env, g *errgroup.Group) int {
	d, err := devnrpe.Start(ctx, devnrpe.Options{Dir: filepath.Join(env.Data, "nrpe"), Install: true,
		Logger: env.Logger.With(slog.String("component", "nrpe"))})
	if err != nil {
		env.Logger.WarnContext(ctx, "demo: no private NRPE daemon, so no nrpe-localhost host", slog.Any("error", err))
		return 0
	}
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return d.Stop(sctx)
	})
	return d.Port()
}

// demoDocument is the demo site's configuration: demo.xml with the HTTP
// port patched in and, when nrpePort is set, the stock templates of
// demo/base and the nrpe-localhost host of demo/nrpe-host.xml. Objects of
// demo.xml and nrpe-host.xml replace stock ones of the same name.
func demoDocument(httpPort string, nrpePort int) (*config.Document, error) {
	xmlText := bytes.Replace(demoXML, []byte(`<parameter name="http_port">8080</parameter>`), []byte(`<parameter name="http_port">`+httpPort+`</parameter>`), 1)
	demo, err := config.Parse("demo.xml", bytes.NewReader(xmlText))
	if err != nil {
		return nil, err
	}
	if nrpePort == 0 {
		return demo, nil
	}
	doc := config.NewDocument()
	var files []string
	err = fs.WalkDir(demoFiles, "demo/base", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".xml" {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := demoFiles.ReadFile(f)
		if err != nil {
			return nil, err
		}
		part, err := config.Parse(f, bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		doc = doc.Merge(part)
	}
	host, err := demoNRPEHost(nrpePort)
	if err != nil {
		return nil, err
	}
	return doc.Merge(demo).Merge(host), nil
}

// demoNRPEHost renders demo/nrpe-host.xml for a daemon on port.
func demoNRPEHost(port int) (*config.Document, error) {
	const name = "demo/nrpe-host.xml"
	tmpl, err := template.ParseFS(demoFiles, name)
	if err != nil {
		return nil, err
	}
	data := struct {
		Port     int
		Services []demoNRPEService
	}{Port: port}
	for _, s := range demoNRPEServices() {
		if port == devnrpe.DefaultPort {
			s.Command = "" // the template's default port: nothing to set
		}
		data.Services = append(data.Services, s)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, data); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return config.Parse(name, &out)
}
