// kube-controller-manager exactly as k8s.io/kubernetes/cmd/kube-controller-manager builds it, plus
// dying with its parent when MCPMUX_DIE_WITH_PARENT=1 (set by test/support/node-cluster.ts).
package main

import (
	"os"
	_ "time/tzdata" // for CronJob time zone support

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // for JSON log format registration
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // load all the prometheus client-go plugins
	_ "k8s.io/component-base/metrics/prometheus/version"  // for version metric registration
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"

	_ "mcpmux.test/kube/kubernetes/internal/parentdeath"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}
