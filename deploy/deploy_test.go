// Package deploy holds deployable definitions (CloudWatch alarms as a
// CloudFormation template, Prometheus alerting rules). Its tests hold both to
// the alarms the server itself evaluates (alarms.Alarms) and to the metrics
// it really exports.
package deploy

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/pythonide/pythonide/internal/alarms"
	"github.com/pythonide/pythonide/internal/metrics"
	"github.com/pythonide/pythonide/internal/monitor"
	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/sandbox"
)

// The seed's lines, as the server's defaults.
var seedAlarms = alarms.Alarms(80, 85, 35)

// promMetric is the Prometheus metric behind each CloudWatch metric.
var promMetric = map[string]string{
	alarms.MetricCPUUtilization:    "pythonide_cpu_utilization_percent",
	alarms.MetricMemoryUtilization: "pythonide_memory_utilization_percent",
	alarms.MetricActiveUsers:       "pythonide_active_users",
	alarms.MetricDatabaseHealthy:   "pythonide_database_up",
	alarms.MetricEFSMounted:        "pythonide_storage_up",
}

func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s is not valid YAML: %v", path, err)
	}
	return v
}

func asMap(t *testing.T, v any, what string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s is not a mapping: %#v", what, v)
	}
	return m
}

// template is a parsed CloudFormation template that resolves Ref to
// parameters' defaults and checks Fn::If names a declared condition.
type template struct {
	t          *testing.T
	params     map[string]any
	conditions map[string]any
}

// resolve returns v with {"Ref": P} replaced by P's default; for Fn::If it
// returns both branches resolved (the caller checks each).
func (tp *template) resolve(v any, where string) []any {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return []any{v}
	}
	if ref, ok := m["Ref"].(string); ok {
		if strings.HasPrefix(ref, "AWS::") {
			return []any{ref}
		}
		p, ok := tp.params[ref].(map[string]any)
		if !ok {
			tp.t.Fatalf("%s: Ref to undeclared parameter %q", where, ref)
		}
		return []any{p["Default"]}
	}
	if args, ok := m["Fn::If"].([]any); ok {
		if len(args) != 3 {
			tp.t.Fatalf("%s: Fn::If needs 3 arguments", where)
		}
		if _, ok := tp.conditions[args[0].(string)]; !ok {
			tp.t.Fatalf("%s: Fn::If on undeclared condition %v", where, args[0])
		}
		return append(tp.resolve(args[1], where), tp.resolve(args[2], where)...)
	}
	return []any{v}
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

func TestCloudWatchAlarms(t *testing.T) {
	doc := readYAML(t, "cloudwatch-alarms.yaml")
	if doc["AWSTemplateFormatVersion"] != "2010-09-09" {
		t.Fatalf("AWSTemplateFormatVersion: %v", doc["AWSTemplateFormatVersion"])
	}
	tp := &template{t: t, params: asMap(t, doc["Parameters"], "Parameters"), conditions: asMap(t, doc["Conditions"], "Conditions")}
	resources := asMap(t, doc["Resources"], "Resources")
	byName := map[string]map[string]any{}
	validStat := map[string]bool{"Average": true, "Minimum": true, "Maximum": true, "Sum": true, "SampleCount": true}
	validMissing := map[string]bool{"breaching": true, "notBreaching": true, "ignore": true, "missing": true}
	validCmp := map[string]bool{"GreaterThanThreshold": true, "GreaterThanOrEqualToThreshold": true, "LessThanThreshold": true, "LessThanOrEqualToThreshold": true}
	for id, r := range resources {
		res := asMap(t, r, id)
		if res["Type"] != "AWS::CloudWatch::Alarm" {
			t.Fatalf("%s: type %v", id, res["Type"])
		}
		p := asMap(t, res["Properties"], id+".Properties")
		for _, req := range []string{"AlarmName", "MetricName", "Namespace", "ComparisonOperator", "Threshold", "EvaluationPeriods", "Period", "Statistic", "TreatMissingData", "AlarmDescription"} {
			if _, ok := p[req]; !ok {
				t.Errorf("%s: no %s", id, req)
			}
		}
		if !validStat[p["Statistic"].(string)] || !validMissing[p["TreatMissingData"].(string)] || !validCmp[p["ComparisonOperator"].(string)] {
			t.Errorf("%s: statistic %v, missing data %v, comparison %v", id, p["Statistic"], p["TreatMissingData"], p["ComparisonOperator"])
		}
		if period, _ := number(p["Period"]); period < 60 || int(period)%60 != 0 {
			t.Errorf("%s: period %v is not a multiple of 60 s", id, p["Period"])
		}
		if n, _ := number(p["EvaluationPeriods"]); n < 1 {
			t.Errorf("%s: evaluation periods %v", id, p["EvaluationPeriods"])
		}
		for _, k := range []string{"AlarmActions", "OKActions"} {
			tp.resolve(p[k], id+"."+k)
		}
		byName[p["AlarmName"].(string)] = p
	}
	if len(byName) != len(seedAlarms) {
		t.Errorf("%d alarms in the template, %d in alarms.Alarms", len(byName), len(seedAlarms))
	}
	for _, a := range seedAlarms {
		p, ok := byName[a.Name]
		if !ok {
			t.Errorf("no alarm %s in the template", a.Name)
			continue
		}
		if p["MetricName"] != a.Metric || p["ComparisonOperator"] != a.Comparison {
			t.Errorf("%s: metric %v %v, want %s %s", a.Name, p["MetricName"], p["ComparisonOperator"], a.Metric, a.Comparison)
		}
		for _, th := range tp.resolve(p["Threshold"], a.Name+".Threshold") {
			if v, ok := number(th); !ok || v != a.Threshold {
				t.Errorf("%s: threshold %v, want %v", a.Name, th, a.Threshold)
			}
		}
		namespaces := tp.resolve(p["Namespace"], a.Name+".Namespace")
		custom := false
		for _, ns := range namespaces {
			switch ns {
			case "PythonIDE/Custom":
				custom = true
			case "AWS/ECS":
				if a.Metric != alarms.MetricCPUUtilization && a.Metric != alarms.MetricMemoryUtilization {
					t.Errorf("%s: %s is not an AWS/ECS metric", a.Name, a.Metric)
				}
			default:
				t.Errorf("%s: namespace %v", a.Name, ns)
			}
		}
		if !custom {
			t.Errorf("%s: never reads the server's own PythonIDE/Custom metric", a.Name)
		}
		// Wherever the custom namespace is used, the Service dimension is set,
		// as in the EMF records.
		dims := tp.resolve(p["Dimensions"], a.Name+".Dimensions")
		service := false
		for _, d := range dims {
			list, _ := d.([]any)
			for _, item := range list {
				if m, ok := item.(map[string]any); ok && m["Name"] == "Service" {
					for _, v := range tp.resolve(m["Value"], a.Name+".Dimensions") {
						service = service || v == "pythonide"
					}
				}
			}
		}
		if !service {
			t.Errorf("%s: no Service=pythonide dimension", a.Name)
		}
	}
	// The service-health alarms must fire when the server goes silent.
	for _, name := range []string{"PythonIDE-DatabaseUnhealthy", "PythonIDE-StorageUnavailable"} {
		if p := byName[name]; p != nil && p["TreatMissingData"] != "breaching" {
			t.Errorf("%s: missing data must count as breaching (a dead server sends nothing)", name)
		}
	}
}

// exported gathers the metrics a fully wired monitor really exports, with
// every label value seen.
func exported(t *testing.T) map[string]map[string]map[string]bool {
	t.Helper()
	reg, err := registry.New(registry.DefaultLimits(), nil)
	if err != nil {
		t.Fatal(err)
	}
	layers := sandbox.Layers{Cgroup: "v2", Namespaces: true}
	mon := monitor.New(monitor.Options{DataDir: t.TempDir(), Registry: reg, Database: fakeDB{}, Layers: &layers})
	mon.Sample()
	time.Sleep(50 * time.Millisecond)
	mon.Sample()
	mon.Probe(context.Background())
	prom := prometheus.NewRegistry()
	if _, err := metrics.New(prom, mon); err != nil {
		t.Fatal(err)
	}
	fams, err := prom.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]map[string]bool{}
	for _, f := range fams {
		labels := map[string]map[string]bool{}
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if labels[l.GetName()] == nil {
					labels[l.GetName()] = map[string]bool{}
				}
				labels[l.GetName()][l.GetValue()] = true
			}
		}
		out[f.GetName()] = labels
	}
	return out
}

var (
	metricRef  = regexp.MustCompile(`pythonide_[a-z_]+`)
	matcherRef = regexp.MustCompile(`(pythonide_[a-z_]+)\{([^}]*)\}`)
	labelMatch = regexp.MustCompile(`([a-z_]+)\s*(=~|=)\s*"([^"]*)"`)
	comparison = regexp.MustCompile(`\s(>|<|>=|<=|==|!=)\s*([0-9.]+)\s*$`)
)

func TestPrometheusRules(t *testing.T) {
	doc := readYAML(t, "prometheus-rules.yaml")
	groups, _ := doc["groups"].([]any)
	if len(groups) == 0 {
		t.Fatal("no rule groups")
	}
	have := exported(t)
	byAlarm := map[string]map[string]any{}
	for _, g := range groups {
		gm := asMap(t, g, "group")
		rules, _ := gm["rules"].([]any)
		if gm["name"] == nil || len(rules) == 0 {
			t.Fatalf("group without a name or rules: %v", gm)
		}
		for _, r := range rules {
			rule := asMap(t, r, "rule")
			name, _ := rule["alert"].(string)
			expr, _ := rule["expr"].(string)
			labels := asMap(t, rule["labels"], name+".labels")
			ann := asMap(t, rule["annotations"], name+".annotations")
			if name == "" || expr == "" || ann["summary"] == nil || ann["description"] == nil {
				t.Errorf("rule %v: needs alert, expr, annotations.summary and .description", rule)
			}
			if s := labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: severity %v", name, s)
			}
			if f, ok := rule["for"].(string); ok {
				if _, err := time.ParseDuration(f); err != nil {
					t.Errorf("%s: for %q: %v", name, f, err)
				}
			}
			if strings.Count(expr, "(") != strings.Count(expr, ")") || strings.Count(expr, "[") != strings.Count(expr, "]") ||
				strings.Count(expr, "{") != strings.Count(expr, "}") {
				t.Errorf("%s: unbalanced brackets in %q", name, expr)
			}
			// Every pythonide metric named is exported, and every label
			// value matched exists.
			for _, m := range metricRef.FindAllString(expr, -1) {
				if _, ok := have[m]; !ok {
					t.Errorf("%s: %s is not exported by the server", name, m)
				}
			}
			for _, mm := range matcherRef.FindAllStringSubmatch(expr, -1) {
				for _, lm := range labelMatch.FindAllStringSubmatch(mm[2], -1) {
					for _, v := range strings.Split(lm[3], "|") {
						if !have[mm[1]][lm[1]][v] {
							t.Errorf("%s: %s has no %s=%q", name, mm[1], lm[1], v)
						}
					}
				}
			}
			if a, ok := labels["alarm"].(string); ok {
				byAlarm[a] = rule
			}
		}
	}
	for _, a := range seedAlarms {
		rule, ok := byAlarm[a.Name]
		if !ok {
			t.Errorf("no rule with alarm=%s", a.Name)
			continue
		}
		expr := rule["expr"].(string)
		if !strings.Contains(expr, promMetric[a.Metric]) {
			t.Errorf("%s: %q does not read %s", a.Name, expr, promMetric[a.Metric])
		}
		m := comparison.FindStringSubmatch(expr)
		if m == nil {
			t.Errorf("%s: %q does not end in a comparison with a number", a.Name, expr)
			continue
		}
		want := map[string]string{alarms.GreaterThan: ">", alarms.LessThan: "<"}[a.Comparison]
		if th, _ := strconv.ParseFloat(m[2], 64); m[1] != want || th != a.Threshold {
			t.Errorf("%s: %s %s, want %s %v", a.Name, m[1], m[2], want, a.Threshold)
		}
	}
}

type fakeDB struct{}

func (fakeDB) Ping(context.Context) error { return nil }
func (fakeDB) Dialect() string            { return "sqlite" }
func (fakeDB) Stats() sql.DBStats         { return sql.DBStats{MaxOpenConnections: 8} }

// TestCloudFormationLint runs cfn-lint, AWS's template linter, where it is
// installed (pip install cfn-lint).
func TestCloudFormationLint(t *testing.T) {
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint is not installed on this machine")
	}
	out, err := exec.Command(lint, "cloudwatch-alarms.yaml", "ecs-service.yaml").CombinedOutput()
	if err != nil {
		t.Fatalf("cfn-lint: %v\n%s", err, out)
	}
}
