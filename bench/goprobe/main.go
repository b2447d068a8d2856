// Command goprobe runs client-go's dynamic informer on one custom resource, for bench/scale.py.
//
// It is the Go baseline of that benchmark: the informer as a client-go controller keeps its cache
// (dynamicinformer, unstructured objects, client-go's defaults: a streaming watch-list where the
// server offers one), with managedFields dropped by a transform as opframe's informer drops them
// (controller-runtime's cache.TransformStripManagedFields; -keep-managed-fields turns it off).
//
// Output, one JSON line each on stdout:
//
//	{"sync_seconds", "rss_bytes", "hwm_bytes", "objects", "adds"} once the cache and one event
//	handler (counting adds) have synced;
//	{"idle_cpu_seconds", "idle_seconds", "rss_bytes", "hwm_bytes"} with -idle > 0: after -settle
//	seconds, the process's CPU seconds (utime + stime, /proc/self/stat) over -idle seconds.
//
// It exits after the last line.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every Linux architecture Go
// supports (sysconf(_SC_CLK_TCK) needs cgo).
const clockTicks = 100

func main() {
	started := time.Now()
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file")
	namespace := flag.String("namespace", "scale", "namespace to watch")
	group := flag.String("group", "bench.opframe.dev", "API group")
	version := flag.String("version", "v1", "API version")
	resource := flag.String("resource", "scaleobjects", "resource (plural)")
	keepManagedFields := flag.Bool("keep-managed-fields", false, "keep metadata.managedFields in the cache")
	settle := flag.Float64("settle", 0, "seconds to wait after the sync before the idle window")
	idle := flag.Float64("idle", 0, "seconds of idle CPU to measure after the sync (0: none)")
	timeout := flag.Float64("timeout", 1800, "seconds to wait for the cache to sync")
	flag.Parse()

	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	check(err, "kubeconfig")
	client, err := dynamic.NewForConfig(config)
	check(err, "dynamic client")
	gvr := schema.GroupVersionResource{Group: *group, Version: *version, Resource: *resource}
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(client, 0, *namespace, nil)
	informer := factory.ForResource(gvr).Informer()
	if !*keepManagedFields {
		check(informer.SetTransform(stripManagedFields), "transform")
	}
	var adds atomic.Int64
	registration, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { adds.Add(1) },
	})
	check(err, "event handler")

	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(*timeout*float64(time.Second)))
	defer cancel()
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced, registration.HasSynced) {
		fmt.Fprintln(os.Stderr, "goprobe: the cache did not sync in time")
		os.Exit(1)
	}
	emit(map[string]any{
		"sync_seconds": time.Since(started).Seconds(), "rss_bytes": status("VmRSS"), "hwm_bytes": status("VmHWM"),
		"objects": len(informer.GetStore().ListKeys()), "adds": adds.Load(),
	})
	if *idle > 0 {
		time.Sleep(time.Duration(*settle * float64(time.Second)))
		before := cpuSeconds()
		time.Sleep(time.Duration(*idle * float64(time.Second)))
		emit(map[string]any{
			"idle_cpu_seconds": cpuSeconds() - before, "idle_seconds": *idle,
			"rss_bytes": status("VmRSS"), "hwm_bytes": status("VmHWM"),
		})
	}
}

func stripManagedFields(obj any) (any, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		u.SetManagedFields(nil)
	}
	return obj, nil
}

func emit(line map[string]any) {
	out, err := json.Marshal(line)
	check(err, "json")
	fmt.Println(string(out))
}

// status reads one "Name: N kB" field of /proc/self/status, in bytes.
func status(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	check(err, "/proc/self/status")
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			parts := strings.Fields(rest)
			kb, err := strconv.ParseInt(parts[0], 10, 64)
			check(err, field)
			return kb * 1024
		}
	}
	return 0
}

// cpuSeconds is utime + stime (fields 14 and 15 of /proc/self/stat).
func cpuSeconds() float64 {
	data, err := os.ReadFile("/proc/self/stat")
	check(err, "/proc/self/stat")
	text := string(data)
	fields := strings.Fields(text[strings.LastIndex(text, ")")+1:])
	utime, err := strconv.ParseInt(fields[11], 10, 64)
	check(err, "utime")
	stime, err := strconv.ParseInt(fields[12], 10, 64)
	check(err, "stime")
	return float64(utime+stime) / clockTicks
}

func check(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "goprobe: %s: %v\n", what, err)
		os.Exit(1)
	}
}
