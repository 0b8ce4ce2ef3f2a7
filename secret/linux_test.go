//go:build linux

package secret_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/secretmem/secretmem/internal/memory"
	"github.com/secretmem/secretmem/internal/procmaps"
	"github.com/secretmem/secretmem/internal/testchild"
	"github.com/secretmem/secretmem/secret"
	"golang.org/x/sys/unix"
)

// Child processes: the test binary runs itself with childEnv set to a mode.
const childEnv = "SECRETMEM_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	os.Exit(m.Run())
}

func runChild(mode string) int {
	switch mode {
	case "read-past-guarded", "write-past-guarded", "read-guarded-while-idle":
		v, err := secret.New([]byte("0123456789abcdef0123456789abcdef"), secret.Guarded())
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			return 3
		}
		var addr unsafe.Pointer
		_ = v.Use(func(b []byte) error {
			addr = unsafe.Pointer(&b[0])
			switch mode {
			case "read-past-guarded":
				fmt.Println("read", *(*byte)(unsafe.Add(addr, len(b))))
			case "write-past-guarded":
				*(*byte)(unsafe.Add(addr, len(b))) = 1
			}
			return nil
		})
		if mode == "read-guarded-while-idle" {
			fmt.Println("read", *(*byte)(addr))
		}
		fmt.Println("survived")
		return 0
	case "memlock":
		return memlockChild()
	case "memlock-reuse":
		return memlockReuseChild()
	case "memfd-fallback":
		return memfdFallbackChild()
	case "memfd-fallback-runs":
		return memfdFallbackRunsChild()
	case "memlock-pipe":
		return memlockPipeChild()
	case "fork":
		return forkChild()
	case "prekey-registry":
		return prekeyRegistryChild()
	case "harden":
		if err := secret.HardenProcess(); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			return 3
		}
		var lim unix.Rlimit
		_ = unix.Getrlimit(unix.RLIMIT_CORE, &lim)
		dumpable, _ := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
		fmt.Printf("core=%d dumpable=%d\n", lim.Cur, dumpable)
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown child mode", mode)
	return 3
}

// runSelf runs the test binary in a child mode with a watchdog. As root it
// runs the child as nobody (uid 65534), because root ignores
// RLIMIT_MEMLOCK. The watchdog finds a hang, not a slow child: the memlock
// child makes 100,000 cells, 1.3 s here, 7.6 s under the race detector,
// and over 30 s with the race detector on a loaded machine.
func runSelf(t *testing.T, mode string, env ...string) (stdout, stderr string, err error) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), childWatchdog)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, childEnv+"="+mode)...)
	if os.Geteuid() == 0 {
		testchild.AsNobody(t, cmd)
	}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("child %s hung: killed by the %v watchdog", mode, childWatchdog)
	}
	return out.String(), errb.String(), err
}

const childWatchdog = 3 * time.Minute

// skipOnHeap skips a test of a protection the heap backend does not give.
func skipOnHeap(t *testing.T, what string) {
	t.Helper()
	if onHeap() {
		t.Skip("the heap backend has no " + what)
	}
}

func TestTouchingAGuardedCellOutsideItsBoundsKillsTheProcess(t *testing.T) {
	skipOnHeap(t, "guard pages")
	for _, mode := range []string{"read-past-guarded", "write-past-guarded", "read-guarded-while-idle"} {
		t.Run(mode, func(t *testing.T) {
			stdout, stderr, err := runSelf(t, mode)
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the child did not fail: %v\n%s", err, stdout)
			}
			if strings.Contains(stdout, "survived") {
				t.Fatal("the child survived the access")
			}
			if !strings.Contains(stderr, "SIGSEGV") {
				t.Errorf("the child died without SIGSEGV (exit %d): %.300s", exit.ExitCode(), stderr)
			}
		})
	}
}

// mapping describes the /proc/self/smaps entry holding an address.
type mapping struct {
	name  string
	flags []string
}

func findMapping(t *testing.T, addr uintptr) mapping {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no smaps: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var cur *mapping
	for sc.Scan() {
		line := sc.Text()
		if head, ok := procmaps.Parse(line); ok {
			cur = nil
			if uint64(addr) >= head.Lo && uint64(addr) < head.Hi {
				cur = &mapping{name: head.Path}
			}
			continue
		}
		if cur != nil && strings.HasPrefix(line, "VmFlags:") {
			cur.flags = strings.Fields(strings.TrimPrefix(line, "VmFlags:"))
			return *cur
		}
	}
	t.Fatalf("no mapping holds %#x", addr)
	return mapping{}
}

func hasFlag(m mapping, f string) bool {
	for _, x := range m.flags {
		if x == f {
			return true
		}
	}
	return false
}

func cellAddr(t *testing.T, v secret.Value) uintptr {
	var addr uintptr
	if err := v.Use(func(b []byte) error { addr = uintptr(unsafe.Pointer(&b[0])); return nil }); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestCellsAreLockedAndOutOfCoreDumps(t *testing.T) {
	skipOnHeap(t, "locked mappings")
	backend := secret.Stats().Backend
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			v := mustNew(t, marker(t), p.opts...)
			m := findMapping(t, cellAddr(t, v))
			if !hasFlag(m, "lo") {
				t.Errorf("the mapping is not locked: VmFlags %v", m.flags)
			}
			if !hasFlag(m, "dd") {
				t.Errorf("the mapping is not excluded from core dumps: VmFlags %v", m.flags)
			}
			if backend == "memfd_secret" && !strings.Contains(m.name, "secretmem") {
				t.Errorf("backend is memfd_secret but the mapping is %q", m.name)
			}
			if backend == "mlock" && !hasFlag(m, "wf") && !hasFlag(m, "dc") {
				t.Errorf("the mapping is inherited by forked children: VmFlags %v", m.flags)
			}
			t.Logf("backend %s, mapping %q, VmFlags %v", backend, m.name, m.flags)
		})
	}
}

func TestMemfdSecretIsUsedWhereTheKernelHasIt(t *testing.T) {
	if err := memory.ProbeMemfdSecret(); err != nil {
		t.Skipf("this kernel has no memfd_secret (%v): the mlock backend is used", err)
	}
	if os.Getenv(memory.DisableMemfdSecretEnv) != "" {
		t.Skip("memfd_secret disabled by " + memory.DisableMemfdSecretEnv)
	}
	if b := secret.Stats().Backend; b != "memfd_secret" {
		t.Fatalf("the kernel offers memfd_secret but the backend is %q", b)
	}
	// Even this process cannot read its own cells through /proc/self/mem.
	v := mustNew(t, marker(t))
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		t.Skipf("no /proc/self/mem: %v", err)
	}
	defer mem.Close()
	buf := make([]byte, 8)
	if _, err := mem.ReadAt(buf, int64(cellAddr(t, v))); err == nil {
		t.Error("/proc/self/mem read a memfd_secret cell")
	}
}

func TestACorruptedCanaryIsDetected(t *testing.T) {
	before := secret.Stats().CanaryFailures
	// Find two 32-byte cells in neighbouring slots (40 bytes apart: the
	// slot and its canary), whatever order earlier tests freed slots in.
	var a, b secret.Value
	cells := map[uintptr]secret.Value{}
	for i := 0; i < 1000 && !b.Alive(); i++ {
		v := mustNew(t, fmt.Sprintf("neighbour-%04d-0123456789abcdef.", i))
		addr := cellAddr(t, v)
		cells[addr] = v
		if n, ok := cells[addr+40]; ok {
			a, b = v, n
		} else if p, ok := cells[addr-40]; ok {
			a, b = p, v
		}
	}
	if !b.Alive() {
		t.Fatal("no two cells in neighbouring slots")
	}
	err := a.Use(func(p []byte) error {
		// A bug that writes one byte past the end.
		*(*byte)(unsafe.Add(unsafe.Pointer(&p[0]), len(p))) ^= 0xff
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Use(func([]byte) error { return nil }); !errors.Is(err, secret.ErrCorrupted) || !strings.Contains(err.Error(), "canary") {
		t.Errorf("reading the overflowed cell: %v, want ErrCorrupted naming the canary", err)
	}
	if err := b.Use(func([]byte) error { return nil }); !errors.Is(err, secret.ErrCorrupted) {
		t.Errorf("reading the neighbour whose canary was hit: %v, want ErrCorrupted", err)
	}
	a.Destroy()
	b.Destroy()
	if got := secret.Stats().CanaryFailures; got <= before {
		t.Error("Stats does not count the canary failure")
	}
	c := mustNew(t, "a later cell works as usual.....")
	if !holds(c, "a later cell works as usual.....") {
		t.Error("a cell created after the corruption is not intact")
	}
}

type memlockReport struct {
	Count          int    `json:"count"`
	ErrIsLock      bool   `json:"err_is_lock"`
	Message        string `json:"message"`
	Intact         bool   `json:"intact"`
	GuardedRefused bool   `json:"guarded_refused"`
	ReuseWorks     bool   `json:"reuse_works"`
	UnlockedWorks  bool   `json:"unlocked_works"`
	Degraded       bool   `json:"degraded_visible"`
	LockedBackend  string `json:"locked_backend"`
	Backend        string `json:"backend"`
	Uid            int    `json:"uid"`
	VecRefused     bool   `json:"vec_refused"`
	VecIntact      bool   `json:"vec_intact"`
	// Protected after the unlocked cell ended, then after Purge.
	EndedProtected  bool   `json:"ended_protected"`
	EndedBackend    string `json:"ended_backend"`
	PurgedProtected bool   `json:"purged_protected"`
}

// memlockChild lowers its own RLIMIT_MEMLOCK, fills it with 32-byte cells
// and reports what happened at the limit.
func memlockChild() int {
	limit, _ := strconv.ParseUint(os.Getenv("SECRETMEM_LIMIT"), 10, 64)
	if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: limit, Max: limit}); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
		return 3
	}
	rep := memlockReport{Uid: os.Geteuid()}
	// Exactly 32 bytes: the size the capacity promise is about.
	cell := func(i int) []byte { return []byte(fmt.Sprintf("cell-%08d-0123456789abcdefgh", i)) }
	// A growable buffer made before the limit, grown after it.
	vec, err := secret.NewVec[byte](16)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 3
	}
	_ = vec.Append([]byte("vec-prefix"))
	var vs []secret.Value
	for i := 0; i < 400000; i++ {
		var v secret.Value
		v, err = secret.New(cell(i))
		if err != nil {
			break
		}
		vs = append(vs, v)
	}
	rep.Count = len(vs)
	rep.ErrIsLock = errors.Is(err, secret.ErrMemoryLock)
	if err != nil {
		rep.Message = err.Error()
	}
	rep.Intact = true
	for i, v := range vs {
		if !v.Equal(cell(i)) {
			rep.Intact = false
		}
	}
	_, gerr := secret.New(cell(-1), secret.Guarded())
	rep.GuardedRefused = errors.Is(gerr, secret.ErrMemoryLock)
	var verr error
	pushed := 0
	for ; pushed < 64<<10; pushed++ {
		if verr = vec.Push('x'); verr != nil {
			break
		}
	}
	rep.VecRefused = errors.Is(verr, secret.ErrMemoryLock)
	// Intact: the refused Push lost no earlier byte and added none.
	want := "vec-prefix" + strings.Repeat("x", pushed)
	rep.VecIntact = vec.Len() == len(want) && vec.Use(func(b []byte) error {
		if string(b) != want {
			return errors.New("changed")
		}
		return nil
	}) == nil
	if len(vs) > 0 {
		vs[0].Destroy()
		v, err := secret.New(cell(-2))
		rep.ReuseWorks = err == nil && v.Equal(cell(-2))
	}
	rep.LockedBackend = secret.Stats().Backend
	u, err := secret.New(cell(-3), secret.AllowUnlocked())
	rep.UnlockedWorks = err == nil && u.Equal(cell(-3))
	s := secret.Stats()
	rep.Degraded = s.UnlockedBytes > 0 && !s.Protected
	rep.Backend = s.Backend
	u.Destroy()
	s = secret.Stats()
	rep.EndedProtected, rep.EndedBackend = s.Protected, s.Backend
	secret.Purge()
	rep.PurgedProtected = secret.Stats().Protected
	_ = json.NewEncoder(os.Stdout).Encode(rep)
	return 0
}

func TestTheMemoryLockLimitGivesACleanError(t *testing.T) {
	skipOnHeap(t, "memory-lock limit")
	tests := []struct {
		name  string
		limit int
		min   int
	}{
		{"64 KiB holds at least 500 cells", 64 << 10, 500},
		{"8 MiB holds at least 100,000 cells", 8 << 20, 100000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := runSelf(t, "memlock", "SECRETMEM_LIMIT="+strconv.Itoa(tt.limit))
			if err != nil {
				t.Fatalf("child failed: %v\n%s", err, stderr)
			}
			var rep memlockReport
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatalf("child report: %v: %q", err, stdout)
			}
			t.Logf("uid %d, backend %s: %d live 32-byte cells under RLIMIT_MEMLOCK=%d", rep.Uid, rep.LockedBackend, rep.Count, tt.limit)
			if rep.Uid == 0 {
				t.Skip("the child runs as root, which ignores RLIMIT_MEMLOCK")
			}
			if rep.Count < tt.min {
				t.Errorf("only %d cells fit, want at least %d", rep.Count, tt.min)
			}
			if !rep.ErrIsLock {
				t.Errorf("the error at the limit is not ErrMemoryLock: %q", rep.Message)
			}
			for _, word := range []string{"RLIMIT_MEMLOCK", "ulimit -l", "LimitMEMLOCK=", "CAP_IPC_LOCK"} {
				if !strings.Contains(rep.Message, word) {
					t.Errorf("the error does not mention %s: %q", word, rep.Message)
				}
			}
			if !rep.Intact {
				t.Error("cells created before the limit were harmed")
			}
			if !rep.VecRefused || !rep.VecIntact {
				t.Errorf("a Vec growing past the limit: refused with ErrMemoryLock %v, contents intact %v", rep.VecRefused, rep.VecIntact)
			}
			if !rep.GuardedRefused {
				t.Error("a guarded cell past the limit was not refused with ErrMemoryLock")
			}
			if !rep.ReuseWorks {
				t.Error("a slot freed at the limit could not be reused")
			}
			if !rep.UnlockedWorks || !rep.Degraded {
				t.Errorf("AllowUnlocked did not degrade visibly: works=%v visible=%v", rep.UnlockedWorks, rep.Degraded)
			}
			if rep.LockedBackend != "memfd_secret" && rep.LockedBackend != "mlock" {
				t.Errorf("Stats says backend %q while every cell is locked", rep.LockedBackend)
			}
			if rep.Backend != "unlocked" {
				t.Errorf("Stats says backend %q while a cell lives in unlocked memory", rep.Backend)
			}
			// As documented: unlocked memory kept for reuse counts until Purge.
			if rep.EndedProtected || rep.EndedBackend != "unlocked" || !rep.PurgedProtected {
				t.Errorf("after the unlocked cell ended: protected %v, backend %q; after Purge: protected %v; want false, unlocked, true",
					rep.EndedProtected, rep.EndedBackend, rep.PurgedProtected)
			}
		})
	}
}

type memlockReuseReport struct {
	Uid     int             `json:"uid"`
	Fresh   int             `json:"fresh"`
	Guarded int             `json:"guarded"`
	GErr    string          `json:"guarded_error"`
	Idle    secret.MemStats `json:"idle"`
	After   int             `json:"after"`
}

// memlockReuseChild fills a 64 KiB RLIMIT_MEMLOCK with pooled 32-byte cells
// and empties it; fills it with guarded cells and destroys them; then
// fills it with pooled cells again.
// Memory kept for reuse must not shrink what the second fill gets.
func memlockReuseChild() int {
	const limit = 64 << 10
	if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: limit, Max: limit}); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
		return 3
	}
	rep := memlockReuseReport{Uid: os.Geteuid()}
	fill := func() int {
		var vs []secret.Value
		for {
			v, err := secret.New([]byte("a 32-byte secret for the limit.."))
			if err != nil {
				break
			}
			vs = append(vs, v)
		}
		for _, v := range vs {
			v.Destroy()
		}
		return len(vs)
	}
	rep.Fresh = fill()
	var gs []secret.Value
	// 16 one-page runs: the whole limit, so the empty chunk the pool
	// kept must give way to the last one.
	for range 16 {
		g, err := secret.New([]byte("a guarded secret"), secret.Guarded())
		if err != nil {
			rep.GErr = err.Error()
			break
		}
		gs = append(gs, g)
	}
	rep.Guarded = len(gs)
	for _, g := range gs {
		g.Destroy()
	}
	rep.Idle = secret.Stats()
	rep.After = fill()
	_ = json.NewEncoder(os.Stdout).Encode(rep)
	return 0
}

func TestMemoryKeptForReuseGivesWayAtTheLockLimit(t *testing.T) {
	skipOnHeap(t, "memory-lock limit")
	for _, backend := range []string{"default", "mlock"} {
		t.Run(backend, func(t *testing.T) {
			var env []string
			if backend == "mlock" {
				env = append(env, memory.DisableMemfdSecretEnv+"=1")
			}
			stdout, stderr, err := runSelf(t, "memlock-reuse", env...)
			if err != nil {
				t.Fatalf("child failed: %v\n%s", err, stderr)
			}
			var rep memlockReuseReport
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatalf("child report: %v: %q", err, stdout)
			}
			if rep.Uid == 0 {
				t.Skip("the child runs as root, which ignores RLIMIT_MEMLOCK")
			}
			t.Logf("fresh %d cells; %d guarded cells made and destroyed (%s); idle %+v; then %d cells",
				rep.Fresh, rep.Guarded, rep.GErr, rep.Idle, rep.After)
			if rep.Guarded != 16 {
				t.Errorf("only %d of 16 guarded cells fit after the pooled cells ended: %s", rep.Guarded, rep.GErr)
			}
			if rep.After < rep.Fresh {
				t.Errorf("after guarded cells came and went, %d pooled cells fit; %d did in a fresh process", rep.After, rep.Fresh)
			}
		})
	}
}

// memfdFallbackChild makes a memfd_secret chunk, then runs out of file
// descriptors, so the next chunk falls back to mlock, and prints the
// backend Stats reports before and after.
func memfdFallbackChild() int {
	a, err := secret.New([]byte("a 32-byte cell in memfd_secret.."))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 3
	}
	before := secret.Stats().Backend
	// Descriptors 0, 1 and 2 are taken: no new one can be opened.
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: 3, Max: 3}); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
		return 3
	}
	// Another size class needs a chunk of its own.
	b, err := secret.New([]byte(strings.Repeat("a cell needing a new chunk ", 4)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 3
	}
	after := secret.Stats().Backend
	fmt.Println(before, after, a.Alive() && b.Alive())
	return 0
}

// memfdFallbackRunsChild makes a guarded cell in memfd_secret and, out of
// file descriptors, one of the same size that falls back to mlock, destroys
// both and prints the backends and how many regions stay mapped.
func memfdFallbackRunsChild() int {
	a, err := secret.New([]byte("a guarded cell in memfd_secret.."), secret.Guarded())
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 3
	}
	before := secret.Stats()
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: 3, Max: 3}); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
		return 3
	}
	b, err := secret.New([]byte("a guarded cell fallen to mlock.."), secret.Guarded())
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 3
	}
	after := secret.Stats()
	a.Destroy()
	b.Destroy()
	fmt.Println(before.Backend, after.Backend, secret.Stats().Chunks-before.Chunks)
	return 0
}

// Runs of one size and lock mode are one kind for reuse, whichever backend
// each landed in: one idle run is kept, not one per backend.
func TestOneIdleRunPerSizeAndLockMode(t *testing.T) {
	skipOnHeap(t, "memfd_secret")
	if err := memory.ProbeMemfdSecret(); err != nil {
		t.Skipf("this kernel has no memfd_secret (%v)", err)
	}
	if os.Getenv(memory.DisableMemfdSecretEnv) != "" {
		t.Skip("memfd_secret disabled by " + memory.DisableMemfdSecretEnv)
	}
	stdout, stderr, err := runSelf(t, "memfd-fallback-runs")
	if err != nil {
		t.Fatalf("child: %v\n%s", err, stderr)
	}
	// Before: one run (a's), mapped. After both ended: one idle run kept.
	if got := strings.TrimSpace(stdout); got != "memfd_secret mlock 0" {
		t.Errorf("backends before and after the fallback, regions mapped past a's: %q, want %q", got, "memfd_secret mlock 0")
	}
}

func TestStatsNamesTheBackendARegionFellBackTo(t *testing.T) {
	if err := memory.ProbeMemfdSecret(); err != nil {
		t.Skipf("this kernel has no memfd_secret (%v)", err)
	}
	if os.Getenv(memory.DisableMemfdSecretEnv) != "" {
		t.Skip("memfd_secret disabled by " + memory.DisableMemfdSecretEnv)
	}
	stdout, stderr, err := runSelf(t, "memfd-fallback")
	if err != nil {
		t.Fatalf("child: %v\n%s", err, stderr)
	}
	if got := strings.TrimSpace(stdout); got != "memfd_secret mlock true" {
		t.Errorf("backend before and after a chunk fell back to mlock, cells alive: %q, want %q", got, "memfd_secret mlock true")
	}
}

// memlockPipeChild reads a short secret through a pipe under a 64 KiB
// RLIMIT_MEMLOCK and prints whether the cell holds it.
func memlockPipeChild() int {
	const limit = 64 << 10
	if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: limit, Max: limit}); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
		return 3
	}
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 3
	}
	const m = "a token that came through a pipe\n"
	go func() {
		_, _ = w.WriteString(m)
		w.Close()
	}()
	fmt.Printf("uid=%d ", os.Geteuid())
	v, err := secret.ReadAll(r, secret.TrimNewline())
	if err != nil {
		fmt.Println("error:", err)
		return 0
	}
	fmt.Println("holds:", v.Equal([]byte(strings.TrimSuffix(m, "\n"))))
	return 0
}

func TestReadAllThroughAPipeFitsASmallMemoryLockLimit(t *testing.T) {
	skipOnHeap(t, "memory-lock limit")
	stdout, stderr, err := runSelf(t, "memlock-pipe")
	if err != nil {
		t.Fatalf("child: %v\n%s", err, stderr)
	}
	uid, got, _ := strings.Cut(strings.TrimSpace(stdout), " ")
	if uid == "uid=0" {
		t.Skip("the child runs as root, which ignores RLIMIT_MEMLOCK")
	}
	if got != "holds: true" {
		t.Errorf("a short secret through a pipe under RLIMIT_MEMLOCK=64 KiB: %q", got)
	}
}

func TestHardenProcessTurnsOffCoreDumpsAndPtrace(t *testing.T) {
	stdout, stderr, err := runSelf(t, "harden")
	if err != nil {
		t.Fatalf("child: %v\n%s", err, stderr)
	}
	if strings.TrimSpace(stdout) != "core=0 dumpable=0" {
		t.Errorf("after HardenProcess: %q, want core=0 dumpable=0", stdout)
	}
}

// forkChild forks (without exec, as a C program or a cgo library might)
// and lets the child copy the cell's bytes into a pipe with write(2): the
// kernel reads the address on the child's behalf, so an absent mapping
// gives EFAULT rather than a signal. It prints what the child saw.
func forkChild() int {
	m := "fork-marker-0123456789abcdefgh"
	for _, opts := range [][]secret.Option{nil, {secret.Guarded()}} {
		v, err := secret.New([]byte(m), opts...)
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			return 3
		}
		var addr uintptr
		_ = v.Use(func(b []byte) error { addr = uintptr(unsafe.Pointer(&b[0])); return nil })
		if len(opts) > 0 {
			// A guarded cell is inaccessible at rest anyway; fork while it
			// is open, the moment a child would have the best chance.
			_ = v.Use(func(b []byte) error { return forkAndRead(addr, len(m), m) })
		} else if err := forkAndRead(addr, len(m), m); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			return 3
		}
	}
	return 0
}

func forkAndRead(addr uintptr, n int, m string) error {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return err
	}
	pid, _, errno := unix.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 {
		return errno
	}
	if pid == 0 {
		// The forked child: raw system calls only, no Go runtime.
		_, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(p[1]), addr, uintptr(n))
		code := uintptr(0)
		if e != 0 {
			code = 1
		}
		_, _, _ = unix.RawSyscall(unix.SYS_EXIT_GROUP, code, 0, 0)
	}
	unix.Close(p[1])
	buf := make([]byte, n)
	got, _ := unix.Read(p[0], buf)
	unix.Close(p[0])
	var ws unix.WaitStatus
	_, _ = unix.Wait4(int(pid), &ws, 0, nil)
	switch {
	case got <= 0:
		fmt.Println("child: no access")
	case string(buf[:got]) == m:
		fmt.Println("child: READ THE SECRET")
	default:
		fmt.Printf("child: %d bytes, not the secret\n", got)
	}
	return nil
}

func TestAForkedChildCannotReadTheParentsCells(t *testing.T) {
	skipOnHeap(t, "protection from forked children")
	for _, backend := range []string{"default", "mlock"} {
		t.Run(backend, func(t *testing.T) {
			var env []string
			if backend == "mlock" {
				env = append(env, memory.DisableMemfdSecretEnv+"=1")
			}
			stdout, stderr, err := runSelf(t, "fork", env...)
			if err != nil {
				t.Fatalf("child: %v\n%s", err, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			if len(lines) != 2 {
				t.Fatalf("want a report for a pooled and a guarded cell, got %q", stdout)
			}
			for _, l := range lines {
				if strings.Contains(l, "READ THE SECRET") {
					t.Errorf("a forked child read a cell: %s", l)
				}
			}
			t.Log(strings.Join(lines, "; "))
		})
	}
}
