package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/sys/unix"
)

// injectFromEnv, run by TestMain in a child process inside a namespace,
// sends the packets of VISOR_TEST_INJECT (a pcap) out of VISOR_TEST_IFACE
// as they are, link header included: spoofed packets on the wire.
func injectFromEnv() error {
	b, err := os.ReadFile(os.Getenv("VISOR_TEST_INJECT"))
	if err != nil {
		return err
	}
	ifi, err := net.InterfaceByName(os.Getenv("VISOR_TEST_IFACE"))
	if err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		return err
	}
	for {
		data, _, err := r.ReadPacketData()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		addr := &unix.SockaddrLinklayer{Ifindex: ifi.Index, Halen: 6}
		copy(addr.Addr[:], data[:6])
		if err := unix.Sendto(fd, data, 0, addr); err != nil {
			return err
		}
	}
}

// TestLiveSpoofedTCP: the two packets that once panicked visor, sent to an
// interface `visor live` captures on, must not stop it (issue 16).
func TestLiveSpoofedTCP(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, AF_PACKET)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "visor")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	labNet(t)
	q := tcpQuery(t, "a.example.test")
	pcap := tcpPcap(t, []hostileSeg{{seq: 1000, syn: true}, {seq: 1001 + 1<<31, data: q}, {seq: 1000 + 1<<31, data: q}})
	// Addressed to the client's veth, as if from the server.
	pcap = bytes.ReplaceAll(pcap, []byte{2, 0, 0, 0, 0, 2}, mustMAC(t, labCliMAC))
	inject := filepath.Join(dir, "spoofed.pcap")
	os.WriteFile(inject, pcap, 0o644)

	const port = "9754"
	reportPath := filepath.Join(dir, "live.json")
	vis, visErr := labStart(t, bin, "live", "-i", "lv-cli", "--format", "json", "-o", reportPath, "--listen", "127.0.0.1:"+port)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: dialInNetns(labCliNS)}}
	url := "http://127.0.0.1:" + port + "/metrics"
	labWaitFor(t, func() bool { _, err := labScrape(client, url); return err == nil }, "visor's /metrics")

	send := exec.Command("ip", "netns", "exec", labSrvNS, os.Args[0], "-test.run=^$")
	send.Env = append(os.Environ(), "VISOR_TEST_INJECT="+inject, "VISOR_TEST_IFACE=lv-srv")
	if out, err := send.CombinedOutput(); err != nil {
		t.Fatalf("injecting: %v\n%s", err, out)
	}
	labWaitFor(t, func() bool {
		f, err := labScrape(client, url)
		return err == nil && value(f, "visor_live_captured_packets_total") >= 3
	}, "visor to capture the spoofed packets (stderr: "+visErr.String()+")")
	if err := vis.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("visor live died: %v\n%s", err, visErr.String())
	}
	vis.Process.Signal(syscall.SIGINT)
	if err := labWait(vis, 10*time.Second); err != nil {
		t.Fatalf("visor live after SIGINT: %v (want exit 0)\n%s", err, visErr.String())
	}
	if strings.Contains(visErr.String(), "panic") {
		t.Fatalf("stderr: %s", visErr.String())
	}
	rep := labReport(t, reportPath)
	if rep.Summary.Net.TCP < 3 {
		t.Errorf("report: %d TCP packets, want the 3 sent", rep.Summary.Net.TCP)
	}
}

func mustMAC(t *testing.T, s string) []byte {
	m, err := net.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
