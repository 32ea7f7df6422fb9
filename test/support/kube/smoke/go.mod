// The cluster tier's test image and pod-sandbox ("pause") image (test/support/node-cluster.ts): one
// static binary, standard library only, so that it builds offline in seconds into a few MiB.
module mcpmux.test/kube/smoke

go 1.26.0
