package deploy

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/pythonide/pythonide/internal/alarms"
	"github.com/pythonide/pythonide/internal/config"
)

// TestECSService holds ecs-service.yaml to the server it runs: the
// balancer's health check is the route that turns unready when a task
// drains, scaling tracks the metric the server really emits, the tasks can
// reach each other (a student's WebSocket is proxied to their programs'
// task), the task role may set its scale-in protection, and the service
// runs the container the task definition declares.
func TestECSService(t *testing.T) {
	doc := readYAML(t, "ecs-service.yaml")
	if doc["AWSTemplateFormatVersion"] != "2010-09-09" {
		t.Fatalf("AWSTemplateFormatVersion: %v", doc["AWSTemplateFormatVersion"])
	}
	tp := &template{t: t, params: asMap(t, doc["Parameters"], "Parameters"), conditions: asMap(t, doc["Conditions"], "Conditions")}
	resources := asMap(t, doc["Resources"], "Resources")
	typed := map[string]map[string]any{} // Type → Properties (one of each here, but security groups)
	for id, r := range resources {
		res := asMap(t, r, id)
		p := asMap(t, res["Properties"], id+".Properties")
		typed[res["Type"].(string)+"/"+id] = p
		checkRefs(t, tp, resources, p, id)
	}
	prop := func(key string) map[string]any {
		p, ok := typed[key]
		if !ok {
			t.Fatalf("no resource %s", key)
		}
		return p
	}
	one := func(v any, where string) any {
		vs := tp.resolve(v, where)
		if len(vs) != 1 {
			t.Fatalf("%s: %v", where, vs)
		}
		return vs[0]
	}
	c := config.Defaults()
	var task ecsTask
	b, err := os.ReadFile("ecs-task-definition.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &task); err != nil {
		t.Fatal(err)
	}
	ct := task.ContainerDefinitions[0]
	port := ct.PortMappings[0].ContainerPort
	if p, _ := number(one(map[string]any{"Ref": "ContainerPort"}, "ContainerPort")); int(p) != port {
		t.Errorf("ContainerPort %v, the task definition maps %d", p, port)
	}

	t.Run("health check", func(t *testing.T) {
		tg := prop("AWS::ElasticLoadBalancingV2::TargetGroup/TargetGroup")
		if tg["HealthCheckPath"] != "/readyz" {
			t.Errorf("the target group checks %v: want /readyz, which fails at once when a task drains", tg["HealthCheckPath"])
		}
		if code, body := serves(t, "/readyz"); code == http.StatusNotFound || code == http.StatusMethodNotAllowed {
			t.Errorf("GET /readyz answers %d %q: not a route of the server", code, body)
		}
		if tg["TargetType"] != "ip" {
			t.Errorf("TargetType %v: Fargate tasks (awsvpc) are ip targets", tg["TargetType"])
		}
		attrs := map[string]any{}
		for _, a := range tg["TargetGroupAttributes"].([]any) {
			m := a.(map[string]any)
			attrs[m["Key"].(string)] = one(m["Value"], "TargetGroupAttributes")
		}
		if attrs["stickiness.enabled"] != "false" {
			t.Errorf("stickiness %v: the tasks route students themselves", attrs["stickiness.enabled"])
		}
		delay, _ := number(attrs["deregistration_delay.timeout_seconds"])
		if delay <= 0 || delay > 120 {
			t.Errorf("deregistration delay %v s", attrs["deregistration_delay.timeout_seconds"])
		}
		interval, _ := number(tg["HealthCheckIntervalSeconds"])
		unhealthy, _ := number(tg["UnhealthyThresholdCount"])
		if interval*unhealthy > c.DrainTimeout.Seconds() {
			t.Errorf("a draining task is taken out after %v s, longer than its --drain-timeout %v", interval*unhealthy, c.DrainTimeout)
		}
	})

	t.Run("auto-scaling", func(t *testing.T) {
		pol := prop("AWS::ApplicationAutoScaling::ScalingPolicy/ActiveUsersScaling")
		if pol["PolicyType"] != "TargetTrackingScaling" {
			t.Fatalf("PolicyType %v", pol["PolicyType"])
		}
		cfg := asMap(t, pol["TargetTrackingScalingPolicyConfiguration"], "TargetTrackingScalingPolicyConfiguration")
		m := asMap(t, cfg["CustomizedMetricSpecification"], "CustomizedMetricSpecification")
		if m["MetricName"] != alarms.MetricActiveUsers || one(m["Namespace"], "Namespace") != c.EMFNamespace || m["Statistic"] != "Average" {
			t.Errorf("tracks %v %v (%v): want the server's %s in %s, averaged over the tasks", m["Namespace"], m["MetricName"], m["Statistic"], alarms.MetricActiveUsers, c.EMFNamespace)
		}
		target, _ := number(one(cfg["TargetValue"], "TargetValue"))
		if target <= 0 || target >= float64(c.AlertActiveUsers) || target > float64(c.MaxActiveUsers) {
			t.Errorf("target %v users per task: want below the alarm at %d and the %d a task admits", target, c.AlertActiveUsers, c.MaxActiveUsers)
		}
		st := prop("AWS::ApplicationAutoScaling::ScalableTarget/ScalableTarget")
		if st["ScalableDimension"] != "ecs:service:DesiredCount" || st["ServiceNamespace"] != "ecs" {
			t.Errorf("scalable target %v %v", st["ServiceNamespace"], st["ScalableDimension"])
		}
		lo, _ := number(one(st["MinCapacity"], "MinCapacity"))
		hi, _ := number(one(st["MaxCapacity"], "MaxCapacity"))
		if lo < 1 || hi < lo {
			t.Errorf("capacity %v..%v", lo, hi)
		}
	})

	t.Run("tasks reach each other", func(t *testing.T) {
		in := prop("AWS::EC2::SecurityGroupIngress/PeerIngress")
		if !isRef(in["GroupId"], "TaskSecurityGroup") || !isRef(in["SourceSecurityGroupId"], "TaskSecurityGroup") {
			t.Errorf("peer ingress %v from %v: want the tasks' group to itself", in["GroupId"], in["SourceSecurityGroupId"])
		}
		if p, _ := number(one(in["FromPort"], "FromPort")); int(p) != port {
			t.Errorf("peer ingress on port %v, the server listens on %d", p, port)
		}
	})

	t.Run("scale-in protection", func(t *testing.T) {
		pol := prop("AWS::IAM::Policy/TaskProtectionPolicy")
		stmt := asMap(t, pol["PolicyDocument"], "PolicyDocument")["Statement"].([]any)[0].(map[string]any)
		actions := map[string]bool{}
		for _, a := range stmt["Action"].([]any) {
			actions[a.(string)] = true
		}
		if stmt["Effect"] != "Allow" || !actions["ecs:UpdateTaskProtection"] {
			t.Errorf("the task role's statement %v: the server sets its protection through the ECS agent", stmt)
		}
	})

	t.Run("service", func(t *testing.T) {
		svc := prop("AWS::ECS::Service/Service")
		lbs := svc["LoadBalancers"].([]any)
		lb := lbs[0].(map[string]any)
		if len(lbs) != 1 || lb["ContainerName"] != ct.Name || !isRef(lb["TargetGroupArn"], "TargetGroup") {
			t.Errorf("the service balances %v: want container %s into TargetGroup", lbs, ct.Name)
		}
		if svc["LaunchType"] != "FARGATE" {
			t.Errorf("LaunchType %v: the task definition is for Fargate", svc["LaunchType"])
		}
		dc := asMap(t, svc["DeploymentConfiguration"], "DeploymentConfiguration")
		if minHealthy, _ := number(dc["MinimumHealthyPercent"]); minHealthy < 100 {
			t.Errorf("MinimumHealthyPercent %v: a deployment must start new tasks before it drains old ones", minHealthy)
		}
	})
}

func isRef(v any, name string) bool {
	m, ok := v.(map[string]any)
	return ok && m["Ref"] == name
}

var subVar = regexp.MustCompile(`\$\{([A-Za-z0-9:]+)\}`)

// checkRefs fails on a Ref, Fn::GetAtt or Fn::Sub variable that names no
// parameter or resource of the template.
func checkRefs(t *testing.T, tp *template, resources map[string]any, v any, where string) {
	t.Helper()
	known := func(name string) bool {
		_, p := tp.params[name]
		_, r := resources[name]
		return p || r || len(name) > 5 && name[:5] == "AWS::"
	}
	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			switch k {
			case "Ref":
				if s, _ := sub.(string); !known(s) {
					t.Errorf("%s: Ref to unknown %v", where, sub)
				}
			case "Fn::GetAtt":
				if args, _ := sub.([]any); len(args) != 2 || !known(args[0].(string)) {
					t.Errorf("%s: Fn::GetAtt %v", where, sub)
				}
			case "Fn::Sub":
				for _, m := range subVar.FindAllStringSubmatch(sub.(string), -1) {
					if !known(m[1]) {
						t.Errorf("%s: Fn::Sub names unknown %s", where, m[1])
					}
				}
			}
			checkRefs(t, tp, resources, sub, where+"."+k)
		}
	case []any:
		for i, e := range x {
			checkRefs(t, tp, resources, e, where+"["+strconv.Itoa(i)+"]")
		}
	}
}
