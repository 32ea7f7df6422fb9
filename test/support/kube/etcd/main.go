// etcd exactly as go.etcd.io/etcd's own main builds it, plus dying with its parent when
// MCPMUX_DIE_WITH_PARENT=1 (set by test/support/kube-cluster.ts).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"

	_ "mcpmux.test/kube/etcd/internal/parentdeath"
)

func main() {
	etcdmain.Main(os.Args)
}
