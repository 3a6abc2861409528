// Command argocd is Argo CD's multi-call binary, built from the released module: like the
// upstream cmd/main.go it runs the component named by its file name (or by ARGOCD_BINARY_NAME),
// so one binary serves under every name through hard links. Only the components the local
// stack runs are linked in; any other name runs the CLI, as upstream does.
package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	appcontroller "github.com/argoproj/argo-cd/v3/cmd/argocd-application-controller/commands"
	applicationset "github.com/argoproj/argo-cd/v3/cmd/argocd-applicationset-controller/commands"
	cmpserver "github.com/argoproj/argo-cd/v3/cmd/argocd-cmp-server/commands"
	gitaskpass "github.com/argoproj/argo-cd/v3/cmd/argocd-git-ask-pass/commands"
	reposerver "github.com/argoproj/argo-cd/v3/cmd/argocd-repo-server/commands"
	apiserver "github.com/argoproj/argo-cd/v3/cmd/argocd-server/commands"
	cli "github.com/argoproj/argo-cd/v3/cmd/argocd/commands"
	"github.com/argoproj/argo-cd/v3/util/log"
)

// The repo-server runs git with GIT_ASKPASS=argocd and ARGOCD_BINARY_NAME=argocd-git-ask-pass.
const binaryNameEnv = "ARGOCD_BINARY_NAME"

func init() {
	klog.SetLogger(log.NewLogrusLogger(log.NewWithCurrentConfig()))
}

// command returns the component called name, and whether it is a command-line tool (whose
// errors the plugin handler prints, and which may run an argocd-<name> plugin from PATH).
func command(name string) (*cobra.Command, bool) {
	switch name {
	case "argocd-server":
		return apiserver.NewCommand(), false
	case "argocd-repo-server":
		return reposerver.NewCommand(), false
	case "argocd-application-controller":
		return appcontroller.NewCommand(), false
	case "argocd-applicationset-controller":
		return applicationset.NewCommand(), false
	case "argocd-cmp-server":
		return cmpserver.NewCommand(), true
	case "argocd-git-ask-pass":
		return gitaskpass.NewCommand(), true
	default:
		return cli.NewCommand(), true
	}
}

func main() {
	name := filepath.Base(os.Args[0])
	if val := os.Getenv(binaryNameEnv); val != "" {
		name = val
	}
	cmd, isCLI := command(name)
	if isCLI {
		// The plugin handler prints the error (or runs the plugin) itself.
		cmd.SilenceErrors = true
		cmd.SilenceUsage = true
	}
	err := cmd.Execute()
	if err == nil {
		return
	}
	handler := cli.NewDefaultPluginHandler([]string{"argocd"})
	if pluginErr := handler.HandleCommandExecutionError(err, isCLI, os.Args); pluginErr != nil {
		var exitErr *exec.ExitError
		if errors.As(pluginErr, &exitErr) {
			os.Exit(exitErr.ExitCode())
		}
		os.Exit(1)
	}
}
