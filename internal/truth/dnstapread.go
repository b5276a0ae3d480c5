package truth

import (
	"bufio"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
)

// DnstapRead computes the Tap truth of the dnstap file at path with
// dnstap-read (bind9-dnsutils): its messages counted by type, queries
// (*_QUERY) and responses (*_RESPONSE), the first identity and version.
func DnstapRead(path string) (*Tap, error) {
	t, err := fromTool("dnstap-read -y "+path, path, parseDnstapRead, "dnstap-read", "-y", path)
	if err != nil {
		return nil, err
	}
	t.File = filepath.Base(path)
	ver := "unknown"
	if v, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", "bind9-dnsutils").Output(); err == nil && len(v) > 0 {
		ver = string(v)
	}
	t.Tool = "dnstap-read (bind9-dnsutils " + ver + ")"
	return t, nil
}

// parseDnstapRead counts the YAML documents of `dnstap-read -y`.
func parseDnstapRead(r io.Reader) (*Tap, error) {
	t := &Tap{Types: map[string]uint64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	inMsg := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "identity: ") && t.Identity == "":
			t.Identity = strings.Fields(line)[1]
		case strings.HasPrefix(line, "version: ") && t.Version == "":
			t.Version = strings.TrimPrefix(line, "version: ")
		case strings.HasPrefix(line, "message:"):
			inMsg = true
		case strings.HasPrefix(line, "---"):
			inMsg = false
		case inMsg && strings.HasPrefix(line, "  type: "):
			typ := strings.Fields(line)[1]
			t.Types[typ]++
			t.Messages++
			if strings.HasSuffix(typ, "_QUERY") {
				t.Queries++
			} else if strings.HasSuffix(typ, "_RESPONSE") {
				t.Responses++
			}
		}
	}
	return t, sc.Err()
}
