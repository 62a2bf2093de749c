package capacity

import (
	"fmt"
	"math"
)

// Size is a machine: vCPUs and memory in GiB.
type Size struct {
	Name   string
	VCPU   float64
	Memory float64 // GiB
}

func (s Size) String() string {
	return fmt.Sprintf("%s (%g vCPU, %g GB)", s.Name, s.VCPU, s.Memory)
}

// fargateStep is one Fargate CPU value with the memory it allows.
type fargateStep struct {
	vcpu         float64
	minGB, maxGB float64
	stepGB       float64
	extra        []float64 // allowed values below the stepped range (0.25 vCPU: 0.5 GB)
}

// fargateSteps are ECS Fargate's CPU and memory combinations.
var fargateSteps = []fargateStep{
	{vcpu: 0.25, minGB: 1, maxGB: 2, stepGB: 1, extra: []float64{0.5}},
	{vcpu: 0.5, minGB: 1, maxGB: 4, stepGB: 1},
	{vcpu: 1, minGB: 2, maxGB: 8, stepGB: 1},
	{vcpu: 2, minGB: 4, maxGB: 16, stepGB: 1},
	{vcpu: 4, minGB: 8, maxGB: 30, stepGB: 1},
	{vcpu: 8, minGB: 16, maxGB: 60, stepGB: 4},
	{vcpu: 16, minGB: 32, maxGB: 120, stepGB: 8},
}

// Fargate is the smallest Fargate task size with at least cores vCPU and
// memGB memory; ok is false when none is large enough.
func Fargate(cores, memGB float64) (Size, bool) {
	for _, s := range fargateSteps {
		if s.vcpu < cores {
			continue
		}
		for _, e := range s.extra {
			if e >= memGB {
				return Size{Name: "Fargate", VCPU: s.vcpu, Memory: e}, true
			}
		}
		gb := math.Max(s.minGB, math.Ceil(memGB/s.stepGB)*s.stepGB)
		if gb <= s.maxGB {
			return Size{Name: "Fargate", VCPU: s.vcpu, Memory: gb}, true
		}
	}
	return Size{}, false
}

// ec2Sizes are common non-burstable EC2 instance types (a class runs at
// its peak for a whole lesson, which burstable t3 credits do not cover),
// smallest first.
var ec2Sizes = []Size{
	{"c6i.large", 2, 4}, {"m6i.large", 2, 8}, {"r6i.large", 2, 16},
	{"c6i.xlarge", 4, 8}, {"m6i.xlarge", 4, 16}, {"r6i.xlarge", 4, 32},
	{"c6i.2xlarge", 8, 16}, {"m6i.2xlarge", 8, 32}, {"r6i.2xlarge", 8, 64},
	{"c6i.4xlarge", 16, 32}, {"m6i.4xlarge", 16, 64},
}

// EC2 is the smallest listed instance type that fits.
func EC2(cores, memGB float64) (Size, bool) {
	for _, s := range ec2Sizes {
		if s.VCPU >= cores && s.Memory >= memGB {
			return s, true
		}
	}
	return Size{}, false
}
