//go:build lab

package scenarios

import (
	"testing"

	"github.com/visor-dns/visor/internal/lab"
)

func TestMain(m *testing.M) { lab.Main(m) }
