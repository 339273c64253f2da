// captures/record: Go net/http/fcgi application (FastCGI 1.0 responder, multiplexing-capable) for recordings.
package main

import (
	"crypto/md5"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/fcgi"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: fcgiapp 127.0.0.1:PORT")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/index", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		n := 0
		for k, v := range r.Header {
			n += len(k) + len(strings.Join(v, ","))
		}
		fmt.Fprintf(w, "method=%s\nuri=%s\nquery=%s\ntag=%s\nheader_bytes=%d\n",
			r.Method, r.RequestURI, r.URL.RawQuery, r.Header.Get("X-Request-Id"), n)
	})
	mux.HandleFunc("/post", func(w http.ResponseWriter, r *http.Request) {
		h := md5.New()
		n, _ := io.Copy(h, r.Body)
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "tag=%s\ncontent_length=%d\nread=%d md5=%x\n", r.Header.Get("X-Request-Id"), r.ContentLength, n, h.Sum(nil))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		line := strings.Repeat("0123456789abcdef", 63) + "\n"
		for i := 0; i < 1040; i++ {
			io.WriteString(w, line)
		}
	})
	mux.HandleFunc("/stderr", func(w http.ResponseWriter, r *http.Request) {
		// net/http/fcgi has no way to write FastCGI STDERR: this goes to the process's stderr.
		log.Printf("fcgiscope capture: message on process stderr for %s", r.Header.Get("X-Request-Id"))
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "wrote to (process) stderr\n")
	})
	mux.HandleFunc("/error500", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "deliberate 500", http.StatusInternalServerError)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/index?from=redirect", http.StatusFound)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		ms, err := strconv.Atoi(r.URL.Query().Get("ms"))
		if err != nil || ms < 0 || ms > 2000 {
			ms = 100
		}
		time.Sleep(time.Duration(ms) * time.Millisecond)
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "slept %d ms\n", ms)
	})
	// everything else (e.g. /missing) is the mux's 404
	log.Fatal(fcgi.Serve(ln, mux))
}
