package deploy

import (
	"encoding/json"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pythonide/pythonide/internal/capacity"
)

type ecsTask struct {
	Family                  string
	RequiresCompatibilities []string
	NetworkMode             string
	CPU                     string `json:"cpu"`
	Memory                  string `json:"memory"`
	ExecutionRoleArn        string
	ContainerDefinitions    []ecsContainer
	Volumes                 []struct {
		Name                   string
		EFSVolumeConfiguration *struct {
			FileSystemID        string `json:"fileSystemId"`
			RootDirectory       string
			TransitEncryption   string
			AuthorizationConfig *struct {
				AccessPointID string `json:"accessPointId"`
				IAM           string `json:"iam"`
			}
		} `json:"efsVolumeConfiguration"`
	}
}

type ecsContainer struct {
	Name         string
	Image        string
	Essential    bool
	EntryPoint   []string
	Command      []string
	PortMappings []struct {
		ContainerPort int
		Protocol      string
	}
	LinuxParameters struct {
		InitProcessEnabled bool
		Capabilities       struct{ Add, Drop []string }
	}
	MountPoints []struct {
		SourceVolume  string
		ContainerPath string
		ReadOnly      bool
	}
	Secrets     []struct{ Name, ValueFrom string }
	Environment []struct{ Name, Value string }
	HealthCheck *struct {
		Command                                 []string
		Interval, Timeout, Retries, StartPeriod int
	}
	StopTimeout      int
	LogConfiguration struct {
		LogDriver string
		Options   map[string]string
	}
}

func TestECSTaskDefinition(t *testing.T) {
	b, err := os.ReadFile("ecs-task-definition.json")
	if err != nil {
		t.Fatal(err)
	}
	var task ecsTask
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&task); err != nil {
		t.Fatalf("not valid JSON: %v", err)
	}
	if !slices.Contains(task.RequiresCompatibilities, "FARGATE") || task.NetworkMode != "awsvpc" {
		t.Errorf("want a Fargate task (awsvpc): %v %s", task.RequiresCompatibilities, task.NetworkMode)
	}
	if len(task.ContainerDefinitions) != 1 {
		t.Fatalf("want one container, got %d", len(task.ContainerDefinitions))
	}
	ct := task.ContainerDefinitions[0]

	env := map[string]string{}
	for _, e := range ct.Environment {
		if _, dup := env[e.Name]; dup {
			t.Errorf("environment: %s twice", e.Name)
		}
		env[e.Name] = e.Value
	}
	c := serveConfig(t, "task command and environment", ct.Command, env)

	t.Run("secrets", func(t *testing.T) {
		secret := secretEnvNames()
		known := envNames()
		for name := range env {
			if secret[name] || secret[strings.TrimSuffix(name, "_FILE")] {
				t.Errorf("%s is a secret: give it in secrets (Secrets Manager), not environment", name)
			}
		}
		got := map[string]bool{}
		for _, s := range ct.Secrets {
			got[s.Name] = true
			if !known[s.Name] {
				t.Errorf("secret %s is not a setting of the server", s.Name)
			}
			if !strings.HasPrefix(s.ValueFrom, "arn:aws:secretsmanager:") {
				t.Errorf("secret %s: valueFrom %q is not a Secrets Manager ARN", s.Name, s.ValueFrom)
			}
		}
		if !got["PYTHONIDE_DB"] {
			t.Error("PYTHONIDE_DB (the PostgreSQL URL with its password) must come from Secrets Manager")
		}
		if task.ExecutionRoleArn == "" {
			t.Error("secrets need an executionRoleArn allowed to read them")
		}
	})

	t.Run("container", func(t *testing.T) {
		if !ct.Essential {
			t.Error("the container must be essential")
		}
		// ECS's init (initProcessEnabled) is PID 1; the image's tini would be
		// a second init that warns it is not PID 1.
		if !ct.LinuxParameters.InitProcessEnabled {
			t.Error("initProcessEnabled must be true: an init reaps what students' programs orphan")
		}
		if want := []string{"/usr/local/bin/pythonide"}; !slices.Equal(ct.EntryPoint, want) {
			t.Errorf("entryPoint %q, want %q (the image's binary, without tini: ECS's init is PID 1)", ct.EntryPoint, want)
		}
		if len(ct.LinuxParameters.Capabilities.Add) > 0 {
			t.Errorf("capabilities added: %v; Fargate allows none but SYS_PTRACE and the server needs none", ct.LinuxParameters.Capabilities.Add)
		}
		for _, need := range []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETUID", "SETGID"} {
			if slices.Contains(ct.LinuxParameters.Capabilities.Drop, need) || slices.Contains(ct.LinuxParameters.Capabilities.Drop, "ALL") {
				t.Errorf("capability %s is dropped; the server needs it to run programs as the sandbox uid", need)
			}
		}
		_, port, _ := net.SplitHostPort(c.Listen)
		if len(ct.PortMappings) != 1 || strconv.Itoa(ct.PortMappings[0].ContainerPort) != port {
			t.Errorf("portMappings %+v, the server listens on %s", ct.PortMappings, c.Listen)
		}
		if ct.HealthCheck == nil {
			t.Fatal("no healthCheck")
		}
		if ct.HealthCheck.Command[0] != "CMD" {
			t.Errorf("healthCheck %q: want the exec form [\"CMD\", …]", ct.HealthCheck.Command)
		}
		checkHealthURL(t, "task healthCheck", healthURLIn(t, "healthCheck", ct.HealthCheck.Command), c.Listen)
		if ct.StopTimeout <= int((c.DrainTimeout+c.ShutdownTimeout).Seconds()) || ct.StopTimeout > 120 {
			t.Errorf("stopTimeout %d s: want more than --drain-timeout %v + --shutdown-timeout %v (and at most Fargate's 120)", ct.StopTimeout, c.DrainTimeout, c.ShutdownTimeout)
		}
	})

	t.Run("data volume", func(t *testing.T) {
		if len(ct.MountPoints) != 1 {
			t.Fatalf("want one mount point, got %+v", ct.MountPoints)
		}
		mp := ct.MountPoints[0]
		if mp.ContainerPath != c.DataDir || mp.ReadOnly {
			t.Errorf("mount at %s (read-only %v), but --data is %s", mp.ContainerPath, mp.ReadOnly, c.DataDir)
		}
		found := false
		for _, v := range task.Volumes {
			if v.Name != mp.SourceVolume {
				continue
			}
			found = true
			efs := v.EFSVolumeConfiguration
			if efs == nil {
				t.Fatalf("volume %s is not EFS", v.Name)
			}
			if efs.TransitEncryption != "ENABLED" {
				t.Error("EFS transit encryption must be ENABLED")
			}
			if efs.AuthorizationConfig == nil || efs.AuthorizationConfig.AccessPointID == "" || efs.AuthorizationConfig.IAM != "ENABLED" {
				t.Error("EFS must be mounted through an access point with IAM authorisation")
			}
			if efs.RootDirectory != "" && efs.RootDirectory != "/" {
				t.Error("with an access point, rootDirectory must be omitted (the access point sets it)")
			}
		}
		if !found {
			t.Errorf("mount point names volume %q, which the task does not declare", mp.SourceVolume)
		}
	})

	t.Run("logs and metrics", func(t *testing.T) {
		lc := ct.LogConfiguration
		if lc.LogDriver != "awslogs" {
			t.Errorf("logDriver %s: EMF records become metrics only through CloudWatch Logs (awslogs)", lc.LogDriver)
		}
		for _, k := range []string{"awslogs-group", "awslogs-region", "awslogs-stream-prefix"} {
			if lc.Options[k] == "" {
				t.Errorf("awslogs option %s missing", k)
			}
		}
		if c.EMF != "stdout" {
			t.Errorf("--emf %q: under awslogs the EMF records must go to stdout", c.EMF)
		}
		if c.LogFormat != "json" {
			t.Errorf("--log-format %q: CloudWatch Logs Insights reads JSON", c.LogFormat)
		}
		// The alarms template reads the namespace the server writes.
		tmpl := readYAML(t, "cloudwatch-alarms.yaml")
		params := asMap(t, tmpl["Parameters"], "Parameters")
		if ns, ok := params["Namespace"].(map[string]any); ok && ns["Default"] != c.EMFNamespace {
			t.Errorf("EMF namespace %q, the alarms read %v", c.EMFNamespace, ns["Default"])
		}
	})

	t.Run("size", func(t *testing.T) {
		// Sized by `pythonide capacity --users 38`: CPU for the default mix,
		// memory for the worst case the limits allow (every admitted program
		// at its memory limit), both under the alarm lines.
		e := capacity.Compute(c.MaxActiveUsers, capacity.Defaults(), capacity.DefaultAssumptions(), capacity.Limits{
			MaxPerUser: c.MaxProcsPerUser, MaxTotal: c.MaxProcs, MemoryPerProc: c.MemoryPerProc, MemoryTotal: c.MemoryTotal})
		worstGB := float64(e.WorstCaseBytes) / capacity.DefaultAssumptions().MemoryTarget / (1 << 30)
		want, ok := capacity.Fargate(e.Cores, max(worstGB, float64(e.MemoryBytes)/(1<<30)))
		if !ok {
			t.Fatalf("no Fargate size fits %d users", c.MaxActiveUsers)
		}
		cpu, err1 := strconv.Atoi(task.CPU)
		mem, err2 := strconv.Atoi(task.Memory)
		if err1 != nil || err2 != nil {
			t.Fatalf("cpu %q, memory %q: want CPU units and MiB as strings", task.CPU, task.Memory)
		}
		if float64(cpu) < want.VCPU*1024 || float64(mem) < want.Memory*1024 {
			t.Errorf("task %d CPU units / %d MiB; the capacity calculator wants %g vCPU / %g GB for %d users", cpu, mem, want.VCPU, want.Memory, c.MaxActiveUsers)
		}
		if s, ok := capacity.Fargate(float64(cpu)/1024, float64(mem)/1024); !ok || s.VCPU*1024 != float64(cpu) || s.Memory*1024 != float64(mem) {
			t.Errorf("%d CPU units / %d MiB is not a Fargate size", cpu, mem)
		}
		if c.MemoryTotal >= int64(mem)<<20 {
			t.Errorf("--memory-total %d bytes leaves nothing of the task's %d MiB for the server", c.MemoryTotal, mem)
		}
	})
}
