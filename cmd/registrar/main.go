// Command registrar is the whole of Registrar in one binary: the API server,
// the sync engine, the LMS simulators and the admin commands.
package main

import (
	"os"

	"github.com/registrarhq/registrar/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
