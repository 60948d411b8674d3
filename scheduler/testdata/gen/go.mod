// The module path nests under go-etcd-cron on purpose: Go's internal-package rule is decided by import path, so
// this program may import github.com/diagridio/go-etcd-cron/internal/scheduler (the scheduler's own Parse/Next).
module github.com/diagridio/go-etcd-cron/taprgen

go 1.25.9

// Versions Dapr v1.17.5 pins (github.com/dapr/dapr@v1.17.5/go.mod).
require (
	github.com/dapr/kit v0.17.0
	github.com/diagridio/go-etcd-cron v0.12.4
	golang.org/x/mod v0.33.0
	google.golang.org/protobuf v1.36.11
	k8s.io/utils v0.0.0-20250502105355-0f33e8f1c979
)

// proxy.golang.org answers 403 for go-etcd-cron v0.12.4, so the tag is checked out beside this file (see README.md);
// main.go verifies the checkout against the h1: hash in Dapr v1.17.5's go.sum before generating anything.
replace github.com/diagridio/go-etcd-cron v0.12.4 => ./go-etcd-cron-v0.12.4
