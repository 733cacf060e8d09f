// Package deploy holds the deployment files: the Dockerfile, the systemd
// unit, and the Kubernetes manifests in k8s/, which its test checks.
package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/dataingest/dataingest/config"
)

// manifests is what deploy/k8s's kustomization lists, decoded.
type manifests struct {
	images      []string // kustomization's image names
	secrets     []*corev1.Secret
	deployments []*appsv1.Deployment
	statefuls   []*appsv1.StatefulSet
	services    []*corev1.Service
	pdbs        []*policyv1.PodDisruptionBudget
	monitors    []*monitoringv1.ServiceMonitor
}

// loadManifests decodes every document of every resource of dir's
// kustomization into its Kubernetes API type, rejecting unknown fields.
func loadManifests(t *testing.T, dir string) *manifests {
	t.Helper()
	var k struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Resources  []string `json:"resources"`
		Images     []struct {
			Name    string `json:"name"`
			NewName string `json:"newName"`
			NewTag  string `json:"newTag"`
		} `json:"images"`
		Labels []struct {
			Pairs map[string]string `json:"pairs"`
		} `json:"labels"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(raw, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if k.Kind != "Kustomization" || len(k.Resources) == 0 {
		t.Fatalf("kustomization.yaml: kind %q with %d resources", k.Kind, len(k.Resources))
	}
	m := &manifests{}
	for _, img := range k.Images {
		m.images = append(m.images, img.Name)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, f := range files {
		if base := filepath.Base(f); base != "kustomization.yaml" && !slices.Contains(k.Resources, base) {
			t.Errorf("%s is not in kustomization.yaml's resources", base)
		}
	}
	for _, res := range k.Resources {
		raw, err := os.ReadFile(filepath.Join(dir, res))
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(raw, []byte("\n---\n")) {
			if err := m.add(doc); err != nil {
				t.Errorf("%s, document %d: %v", res, i+1, err)
			}
		}
	}
	return m
}

// add decodes one YAML document into the type its apiVersion and kind
// name.
func (m *manifests) add(doc []byte) error {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return err
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(js, &head); err != nil {
		return err
	}
	switch head.APIVersion + " " + head.Kind {
	case "v1 Secret":
		return decodeStrict(js, &m.secrets)
	case "apps/v1 Deployment":
		return decodeStrict(js, &m.deployments)
	case "apps/v1 StatefulSet":
		return decodeStrict(js, &m.statefuls)
	case "v1 Service":
		return decodeStrict(js, &m.services)
	case "policy/v1 PodDisruptionBudget":
		return decodeStrict(js, &m.pdbs)
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return decodeStrict(js, &m.monitors)
	}
	return fmt.Errorf("a %s %s, which the test does not know", head.APIVersion, head.Kind)
}

// decodeStrict decodes js into a new T, failing on unknown fields, and
// appends it to list.
func decodeStrict[T any](js []byte, list *[]*T) error {
	d := json.NewDecoder(bytes.NewReader(js))
	d.DisallowUnknownFields()
	o := new(T)
	*list = append(*list, o)
	return d.Decode(o)
}

// secretValue is key of the named Secret, "" and false when there is none.
func (m *manifests) secretValue(name, key string) (string, bool) {
	for _, s := range m.secrets {
		if s.Name == name {
			if v, ok := s.StringData[key]; ok {
				return v, true
			}
			v, ok := s.Data[key]
			return string(v), ok
		}
	}
	return "", false
}

// configNames is every environment variable config.Config reads.
func configNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("env"), ","); name != "" {
			names = append(names, name)
		}
		if ft := f.Type; ft.Kind() == reflect.Struct && f.Tag.Get("env") == "" {
			names = append(names, configNames(ft)...)
		}
	}
	return names
}

func TestKubernetesManifests(t *testing.T) {
	m := loadManifests(t, "k8s")
	if len(m.deployments) != 1 || len(m.secrets) != 1 || len(m.statefuls) != 1 || len(m.pdbs) != 1 || len(m.monitors) != 1 || len(m.services) != 2 {
		t.Fatalf("want a Deployment, a Secret, a StatefulSet, a PodDisruptionBudget, a ServiceMonitor and two Services; have %d, %d, %d, %d, %d, %d",
			len(m.deployments), len(m.secrets), len(m.statefuls), len(m.pdbs), len(m.monitors), len(m.services))
	}
	d := m.deployments[0]
	pod := d.Spec.Template
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("the node pod has %d containers, want 1", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	known := configNames(reflect.TypeOf(config.Config{}))

	t.Run("environment", func(t *testing.T) {
		// Every DATAINGEST_ name is one the node reads, and the node
		// takes the whole environment as its configuration.
		environ := []string{}
		nodeIDFromPod := false
		for _, e := range c.Env {
			if strings.HasPrefix(e.Name, "DATAINGEST_") && !slices.Contains(known, e.Name) {
				t.Errorf("%s is not a variable the node reads (it reads %s)", e.Name, strings.Join(known, ", "))
			}
			v := e.Value
			switch from := e.ValueFrom; {
			case from == nil:
			case from.SecretKeyRef != nil:
				var ok bool
				if v, ok = m.secretValue(from.SecretKeyRef.Name, from.SecretKeyRef.Key); !ok {
					t.Errorf("%s: Secret %s has no key %s", e.Name, from.SecretKeyRef.Name, from.SecretKeyRef.Key)
				}
			case from.FieldRef != nil && from.FieldRef.FieldPath == "metadata.name":
				v, nodeIDFromPod = "dataingest-7d9f8b6c4-x2kqp", e.Name == "DATAINGEST_NODE_ID"
			default:
				t.Errorf("%s: a value source the test does not know", e.Name)
			}
			environ = append(environ, e.Name+"="+v)
		}
		if !nodeIDFromPod {
			t.Error("DATAINGEST_NODE_ID does not come from the pod's name")
		}
		cfg, err := config.Load(environ)
		if err != nil {
			t.Fatalf("the node would refuse this environment:\n%v", err)
		}
		// The grace period covers the hand-over.
		grace := time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
		if grace < cfg.Cluster.ShutdownTimeout+5*time.Second {
			t.Errorf("terminationGracePeriodSeconds %v leaves no room after DATAINGEST_SHUTDOWN_TIMEOUT %v", grace, cfg.Cluster.ShutdownTimeout)
		}
		// The HTTP port is the container's, and Redis is the Service.
		_, port, _ := net.SplitHostPort(cfg.HTTP.Addr)
		if len(c.Ports) != 1 || fmt.Sprint(c.Ports[0].ContainerPort) != port || c.Ports[0].Name != "http" {
			t.Errorf("container ports %+v, the node listens on %s", c.Ports, cfg.HTTP.Addr)
		}
		redis := m.services[slices.IndexFunc(m.services, func(s *corev1.Service) bool { return s.Name != "dataingest" })]
		if want := fmt.Sprintf("%s:%d", redis.Name, redis.Spec.Ports[0].Port); !slices.Equal(cfg.Redis.Addrs, []string{want}) {
			t.Errorf("DATAINGEST_REDIS_ADDRS %v, the Redis Service is %s", cfg.Redis.Addrs, want)
		}
	})

	t.Run("probes and security", func(t *testing.T) {
		if p := c.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port.String() != "http" {
			t.Errorf("liveness probe %+v, want GET /healthz on port http", p)
		}
		if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" || p.HTTPGet.Port.String() != "http" {
			t.Errorf("readiness probe %+v, want GET /readyz on port http", p)
		}
		for _, ct := range []corev1.Container{c, m.statefuls[0].Spec.Template.Spec.Containers[0]} {
			sc := ct.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
				t.Errorf("container %s: security context %+v, want a read-only root, no privilege escalation, every capability dropped", ct.Name, sc)
			}
			if ct.Resources.Requests.Memory().IsZero() || ct.Resources.Limits.Memory().IsZero() || ct.Resources.Requests.Cpu().IsZero() {
				t.Errorf("container %s: resources %+v, want CPU and memory requests and a memory limit", ct.Name, ct.Resources)
			}
		}
		for _, ps := range []corev1.PodSpec{pod.Spec, m.statefuls[0].Spec.Template.Spec} {
			if sc := ps.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
				t.Errorf("pod security context %+v, want runAsNonRoot", sc)
			}
		}
		if !slices.Contains(m.images, c.Image) {
			t.Errorf("image %q is not one kustomization.yaml sets (%v)", c.Image, m.images)
		}
	})

	t.Run("selectors", func(t *testing.T) {
		podLabels := labels.Set(pod.Labels)
		sel := labels.SelectorFromSet(d.Spec.Selector.MatchLabels)
		if !sel.Matches(podLabels) {
			t.Errorf("the Deployment's selector %v does not select its pods %v", sel, podLabels)
		}
		svc := m.services[slices.IndexFunc(m.services, func(s *corev1.Service) bool { return s.Name == "dataingest" })]
		if !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) || svc.Spec.Ports[0].TargetPort.String() != "http" {
			t.Errorf("Service %s selects %v port %s; the pods are %v", svc.Name, svc.Spec.Selector, svc.Spec.Ports[0].TargetPort.String(), podLabels)
		}
		if pdb := m.pdbs[0]; !labels.SelectorFromSet(pdb.Spec.Selector.MatchLabels).Matches(podLabels) || pdb.Spec.MaxUnavailable.IntValue() != 1 {
			t.Errorf("PodDisruptionBudget selects %v with maxUnavailable %v; want the nodes, one at a time", pdb.Spec.Selector.MatchLabels, pdb.Spec.MaxUnavailable)
		}
		mon := m.monitors[0]
		if !labels.SelectorFromSet(mon.Spec.Selector.MatchLabels).Matches(labels.Set(svc.Labels)) {
			t.Errorf("ServiceMonitor selects %v; Service %s has labels %v", mon.Spec.Selector.MatchLabels, svc.Name, svc.Labels)
		}
		for _, ep := range mon.Spec.Endpoints {
			if ep.Port != svc.Spec.Ports[0].Name || ep.Path != "/metrics" {
				t.Errorf("ServiceMonitor scrapes port %q path %q; the Service's port is %q", ep.Port, ep.Path, svc.Spec.Ports[0].Name)
			}
			// /metrics is behind the API token.
			a := ep.Authorization
			if a == nil || a.Type != "Bearer" || a.Credentials == nil {
				t.Fatalf("ServiceMonitor endpoint without bearer authorization: %+v", a)
			}
			token, ok := m.secretValue(a.Credentials.Name, a.Credentials.Key)
			nodeToken, _ := m.secretValue(secretRef(c, "DATAINGEST_API_TOKEN"))
			if !ok || token != nodeToken {
				t.Errorf("ServiceMonitor's token %s/%s is not the nodes' DATAINGEST_API_TOKEN", a.Credentials.Name, a.Credentials.Key)
			}
		}
	})

	t.Run("redis", func(t *testing.T) {
		ss := m.statefuls[0]
		rc := ss.Spec.Template.Spec.Containers[0]
		args := strings.Join(rc.Args, " ")
		for _, want := range []string{"--appendonly yes", "--maxmemory-policy noeviction", "--requirepass $(REDIS_PASSWORD)"} {
			if !strings.Contains(args, want) {
				t.Errorf("Redis args %q lack %q", args, want)
			}
		}
		redisPassword, _ := m.secretValue(secretRef(rc, "REDIS_PASSWORD"))
		nodePassword, ok := m.secretValue(secretRef(c, "DATAINGEST_REDIS_PASSWORD"))
		if !ok || redisPassword != nodePassword {
			t.Error("the nodes' DATAINGEST_REDIS_PASSWORD is not Redis's requirepass")
		}
		if len(ss.Spec.VolumeClaimTemplates) != 1 || !slices.ContainsFunc(rc.VolumeMounts, func(v corev1.VolumeMount) bool { return v.MountPath == "/data" }) {
			t.Error("Redis keeps its AOF on no persistent volume at /data")
		}
		redisSvc := m.services[slices.IndexFunc(m.services, func(s *corev1.Service) bool { return s.Name == ss.Spec.ServiceName })]
		if !labels.SelectorFromSet(redisSvc.Spec.Selector).Matches(labels.Set(ss.Spec.Template.Labels)) {
			t.Errorf("Service %s does not select the Redis pod", redisSvc.Name)
		}
	})
}

// secretRef is the Secret name and key container c's variable name comes
// from, "" when it comes from none.
func secretRef(c corev1.Container, name string) (string, string) {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			return e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key
		}
	}
	return "", ""
}
