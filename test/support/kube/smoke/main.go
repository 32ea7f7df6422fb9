// smoke is the only binary of the cluster tier's test image. Subcommands:
//
//	smoke serve [port]      HTTP: /healthz answers "ok" (the readiness probe), / answers "hello from <hostname>"
//	smoke get URL [tries]   GET URL until it answers 200 (1 s apart): prints the body, exit 0; else exit 1
//	smoke pause             blocks until SIGTERM/SIGINT: the pod sandbox ("pause") image, since the
//	                        cluster cannot pull registry.k8s.io/pause here
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: smoke serve [port] | get URL [tries] | pause")
	}
	switch os.Args[1] {
	case "serve":
		port := "8080"
		if len(os.Args) > 2 {
			port = os.Args[2]
		}
		serve(port)
	case "get":
		if len(os.Args) < 3 {
			fail("usage: smoke get URL [tries]")
		}
		tries := 1
		if len(os.Args) > 3 {
			n, err := strconv.Atoi(os.Args[3])
			if err != nil || n < 1 {
				fail("tries must be a positive integer")
			}
			tries = n
		}
		os.Exit(get(os.Args[2], tries))
	case "pause":
		waitForSignal()
	default:
		fail("unknown subcommand " + os.Args[1])
	}
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, "smoke:", message)
	os.Exit(2)
}

func waitForSignal() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	<-signals
}

func serve(port string) {
	host, _ := os.Hostname()
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintf(w, "hello from %s\n", host) })
	server := &http.Server{Addr: ":" + port, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		// As PID 1 in its container, the default SIGTERM action is ignored: exit explicitly.
		waitForSignal()
		os.Exit(0)
	}()
	fmt.Println("smoke: serving on :" + port)
	if err := server.ListenAndServe(); err != nil {
		fail(err.Error())
	}
}

func get(url string, tries int) int {
	client := &http.Client{Timeout: 5 * time.Second}
	var last string
	for i := 0; i < tries; i++ {
		if i > 0 {
			time.Sleep(time.Second)
		}
		response, err := client.Get(url)
		if err != nil {
			last = err.Error()
			continue
		}
		body, err := io.ReadAll(response.Body)
		response.Body.Close()
		if err == nil && response.StatusCode == http.StatusOK {
			os.Stdout.Write(body)
			return 0
		}
		last = fmt.Sprintf("status %d: %s", response.StatusCode, body)
	}
	fmt.Fprintf(os.Stderr, "smoke: GET %s failed after %d tries: %s\n", url, tries, last)
	return 1
}
