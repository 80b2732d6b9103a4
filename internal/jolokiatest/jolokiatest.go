// Package jolokiatest runs a real JVM serving the Jolokia protocol for
// tests: it compiles JolokiaHost.java (com.sun.net.httpserver handing
// requests to jolokia-core's HttpRequestHandler) with the system JDK and
// runs it on 127.0.0.1. Debian packages: default-jdk-headless,
// libjolokia-core-java (+ libjson-simple-java).
package jolokiatest

import (
	"bufio"
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

//go:embed JolokiaHost.java
var source []byte

// Jars are the classpath entries the host needs.
var Jars = []string{"/usr/share/java/jolokia-core.jar", "/usr/share/java/json-simple.jar"}

// JVM is one running Jolokia host.
type JVM struct {
	Host string
	Port int
	// URL is the agent's base URL, "http://127.0.0.1:PORT/jolokia/".
	URL string
}

// Start compiles and runs the host until the test ends; with user and
// password set it requires basic authentication. The test is skipped when
// the JDK or jolokia-core is missing.
func Start(t testing.TB, user, password string) *JVM {
	t.Helper()
	javac, err := exec.LookPath("javac")
	if err != nil {
		t.Skip("no JDK (apt-get install -y default-jdk-headless): " + err.Error())
	}
	for _, j := range Jars {
		if _, err := os.Stat(j); err != nil {
			t.Skipf("jolokia-core not installed (apt-get install -y libjolokia-core-java): %v", err)
		}
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "JolokiaHost.java")
	if err := os.WriteFile(src, source, 0o644); err != nil {
		t.Fatal(err)
	}
	cp := strings.Join(Jars, ":")
	if out, err := exec.CommandContext(context.Background(), javac, "-cp", cp, "-d", dir, src).CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}
	args := []string{"-Xmx64m", "-XX:+UseSerialGC", "-Xshare:auto", "-cp", dir + ":" + cp, "JolokiaHost"}
	if user != "" {
		args = append(args, user, password)
	}
	cmd := exec.CommandContext(context.Background(), "java", args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("java: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	port := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var p int
			if _, err := fmt.Sscanf(sc.Text(), "PORT %d", &p); err == nil {
				port <- p
			}
		}
		close(port)
	}()
	select {
	case p, ok := <-port:
		if !ok {
			t.Fatal("the Jolokia host exited before listening")
		}
		return &JVM{Host: "127.0.0.1", Port: p, URL: fmt.Sprintf("http://127.0.0.1:%d/jolokia/", p)}
	case <-time.After(60 * time.Second):
		t.Fatal("the Jolokia host did not start within 60s")
	}
	return nil
}
