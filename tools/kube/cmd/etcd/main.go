// Command etcd is the etcd server, built from go.etcd.io/etcd/server/v3 exactly as the
// upstream binary's main package does (go.etcd.io/etcd/v3/main.go), so that it can share
// one module, and one build cache, with the Kubernetes binaries.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
