/* aio_task: tasks (stackful coroutines) on aio's loop layer, and the bridges
 * to threads. See aio.h for the API.
 *
 * Implementation notes
 *
 *   The switch. aio_switch_asm(&save, to) pushes the callee-saved registers on
 *   the current stack (x86-64: rbx, rbp, r12-r15; aarch64: x19-x29, the
 *   link register x30 and d8-d15), stores the stack pointer in *save, loads
 *   `to`, pops the same registers from the other stack and returns into it.
 *   Everything else is caller-saved by the C ABI, so the compiler has already
 *   spilled it around the call. Not saved: the floating-point control words
 *   (MXCSR and the x87 control word, FPCR): every task shares one rounding
 *   mode, as threads that never change it do; nor the signal mask. With
 *   `make AIO_SWITCH=ucontext` the switch is glibc's swapcontext instead,
 *   which saves all that and makes an rt_sigprocmask system call each time.
 *
 *   Who switches to whom. Only two kinds of context exist per thread: the
 *   loop (the thread's own stack, running aio_loop_run_once) and tasks.
 *   resume() switches loop -> task and is called only from a loop callback;
 *   suspend() switches task -> loop. A task never switches to another task
 *   directly, so a task's stack always holds exactly its own frames and the
 *   loop's stack is never entered twice.
 *
 *   When a task may be resumed: (1) its first step, scheduled by
 *   aio_create_task with call_soon; (2) after suspend(), exactly once, by the
 *   one thing it waits for: its timer (aio_sleep: the timer's callback is the
 *   step itself), its descriptor's reader or writer callback, the task or
 *   gather it awaits finishing, a future from another thread (through
 *   call_soon_threadsafe), or aio_cancel. `woken` guards the "exactly once":
 *   whoever wakes a task first sets it, and aio_cancel only interrupts a wait
 *   that nothing has woken yet (it sets cancel_pending otherwise, and the
 *   next suspending call returns CancelledError, as asyncio's _must_cancel).
 *
 *   Who owns each stack: a stack belongs to one task from aio_create_task
 *   until the task is freed. Each stack is paired for life with a record,
 *   the task's struct: a task costs no malloc, and the records of a chunk
 *   of stacks lie side by side (below, "Cache misses"). Making a task
 *   writes only its record; its first frame is written when it first runs.
 *   A record is four cache lines (256 bytes; 320 when it held the loop's
 *   list of tasks and the stack's sizes: a generation of Item 60 at
 *   100,000 cells went from 0.1336 to 0.1310 s in alternating runs, and
 *   from 0.1365 to 0.1335 s in others on a busier machine). The
 *   loop keeps no list: aio_loop_close finds the tasks not yet freed in the
 *   stack chunks (`live`), so making or freeing a task writes no other
 *   task's record.
 *   Freeing the task puts the stack back in the loop's pool; that happens
 *   only off that stack (a task never frees the stack it runs on).
 *   Pooled stacks are reused by later tasks (warm: their pages are already
 *   faulted in) and unmapped when the loop closes. The pool maps them 64 at
 *   a time (one mmap; each guard page one madvise or mprotect), falling
 *   back to one when 64 do not fit. The task, and so its stack, belongs to
 *   whoever awaits it and is freed there: aio_await frees it when the
 *   awaiter takes its outcome; a finished task nobody has collected yet
 *   keeps its stack.
 *   A task in an aio_gather hands its outcome to the gather as it ends and
 *   is freed by the loop right after its last step, while its record is in
 *   the cache (not all at once after the last one ends); its stack waits
 *   in the gather and goes back to the pool when aio_gather returns, so
 *   the task stays valid until then (finished: aio_cancel does nothing).
 *   Tasks nobody awaited are freed by aio_loop_close; a task made by
 *   run_coroutine_threadsafe resolves its future and is freed when it ends.
 *
 *   Cache misses. Each task's frames lie in a page of their own, cold when
 *   the task next runs among 100,000 others, and the first touch of such a
 *   page is a TLB miss: a page walk, about 70 ns on the 2-core VM these
 *   figures come from (a guest's walk goes through the host's tables too),
 *   one at a time. So a generation of Item 60's 100,000 sleeping tasks
 *   costs misses more than instructions, and the design keeps the stack
 *   pages out of every pass that does not need them. Making, gathering and
 *   freeing 100,000 tasks walk their records, side by side, not their
 *   stacks; a task's stack is touched when it runs, twice a generation (its
 *   first step, and its wake-up). While one step runs, the loop fetches
 *   what the next few will touch, in stages (aio_loop.c's warm_next): a
 *   record's first lines 8 steps ahead, the stack page (its page walk) and
 *   the argument 6 ahead (aio_task_prime), the rest of the record and the
 *   frames 3 ahead (aio_task_warm); task_new fetches the pooled record
 *   it will take POOL_AHEAD tasks on, aio_gather the records ahead.
 *   A gathered task's outcome is taken as it ends (take_outcome), and the
 *   task freed then, so that work happens while the other tasks still wait
 *   for their deadlines, not after the last one. Item 60 at 100,000 cells,
 *   per generation, with the records at the top of their stacks and then
 *   apart (load average 1.2): making the tasks 16.5 -> 7 ms, gather's first
 *   pass 6.6 -> 1.7 ms (the fields it reads share a cache line), the first
 *   steps 30 -> 30-34 ms (their stacks are now first touched there),
 *   freeing 8.4 -> 3.6 ms; a generation 0.167 -> 0.147-0.151 s (with the
 *   timestamps that measured the parts). Then, in alternating runs on a
 *   busier machine: freeing each task as it ends took the last pass's
 *   3.7 ms to none, and the staged fetches (with the grid's reads) the
 *   first steps from 35 to 32 ms; a generation 150 -> 142 ms. The same
 *   first steps took 21-26 ms when the machine was quieter: its memory is
 *   shared, and these passes wait on it. Where the code lies matters too:
 *   one more function imported from libc (its PLT entry moves all the code
 *   after it 16 bytes) made a generation 0.1314 -> 0.1332 s (9 alternating
 *   runs), with no instruction changed; differences of that size between
 *   two builds may be layout alone.
 *
 *   Order: a task's steps are loop callbacks, so they run in the loop's
 *   order (aio_loop.c): tasks created one after the other take their first
 *   steps in that order; sleeps with equal deadlines resume in the order
 *   they were made; a finished task wakes its awaiter with call_soon.
 *
 *   Limits.
 *   - Stack size: AIO_STACK_SIZE, 128 KiB (512 KiB under ASan or TSan, whose
 *     frames are larger), mapped MAP_NORESERVE | MAP_STACK, so a task costs
 *     only the pages it touches: one 4 KiB page for a shallow task, plus
 *     its 256-byte record: 4,434 bytes of VmRSS per suspended task at
 *     100,000 (item56-60/coroutines --stats).
 *     128 KiB holds printf, snprintf and getaddrinfo (a unit test calls
 *     them in a task).
 *   - Overflow, guarded: each stack has a page below it that faults; an
 *     overflow is a SIGSEGV at the instruction that touched it, and a
 *     handler on an alternate stack first prints which task it was (below,
 *     "naming the task that hit its guard page"; -fstack-clash-protection,
 *     in the Makefile, makes a frame bigger than a page probe each page, so
 *     none steps over the guard). Since Linux 6.13 that page is a guard
 *     marker in the page table (madvise MADV_GUARD_INSTALL): no mapping of
 *     its own, so every stack has one, however many there are; and making
 *     the first 100,000 stacks is faster (Item 60's first generation at
 *     100,000 cells: 0.54-0.64 s against 0.68-0.78 s with mprotect, four
 *     alternating runs). Older kernels get a PROT_NONE page from mprotect,
 *     which makes a stack two mappings; vm.max_map_count is 65,530 here,
 *     so those guards stop after max_map_count / 2 - 2,048 guarded stacks
 *     (30,717 here; a quarter of that under a sanitizer, which needs
 *     mappings of its own), counted across the process; mprotect failing
 *     early (other mappings) also leaves that stack unguarded.
 *   - Overflow, unguarded (before Linux 6.13, past that count; or after
 *     aio_set_guard_budget(0)): unguarded stacks' mappings merge, so they
 *     cost no map entries; their lowest 64 bytes, which only an overflow
 *     reaches, must stay zero, and are checked at every switch away from
 *     the task. An overflow runs into the next stack down (another task's
 *     frames) or unmapped memory (SIGSEGV); a task found to have written
 *     the bottom dies with "aio: task ... overflowed its ... stack".
 *     It is caught late (at the next switch: a crash in between is possible)
 *     and missed by a frame that jumps over those 64 bytes without writing
 *     them: keep big buffers off task stacks.
 *   - How many: as many as memory allows. Each task reserves 132 KiB of
 *     address space (not counted as commit charge: MAP_NORESERVE); 100,000
 *     tasks are 13 GB of address space and about 440 MB resident. mmap
 *     failing (ENOMEM) is an OSError from aio_create_task (the stack is
 *     taken when the task is made, so that is where it fails). Under TSan,
 *     which counts a running task as a thread, no more than about 8,000 at
 *     once.
 *   - Tasks never move between threads: the loop's side of the switch
 *     (sched) is thread-local. So is errno, which every task of a thread
 *     shares: read it before the next suspending call, which may run
 *     another task that sets it.
 *
 *   Sanitizers: every switch is annotated for ASan
 *   (__sanitizer_start/finish_switch_fiber, so it knows which stack is
 *   live; a stack is unpoisoned when reused, since frames that never
 *   returned leave their redzones poisoned) and for TSan (a fiber per
 *   running task, __tsan_switch_to_fiber before each switch).
 */
#include "aio.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "aio_impl.h"
#include "check.h"
#include "clock.h"

/* ---- which switch, which sanitizer ---- */

#if defined(AIO_SWITCH_UCONTEXT) || !(defined(__x86_64__) || defined(__aarch64__))
#define AIO_UCONTEXT 1
#include <ucontext.h>
#else
#define AIO_UCONTEXT 0
#endif

#if defined(__SANITIZE_ADDRESS__)
#define AIO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AIO_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define AIO_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define AIO_TSAN 1
#endif
#endif
#ifndef AIO_ASAN
#define AIO_ASAN 0
#endif
#ifndef AIO_TSAN
#define AIO_TSAN 0
#endif

#if AIO_ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old,
                                     size_t *size_old);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#endif
#if AIO_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
#endif

#if AIO_ASAN || AIO_TSAN
#define AIO_SANITIZED 1
#else
#define AIO_SANITIZED 0
#endif
#define AIO_CANARY_WORDS 8 /* the lowest 64 bytes of an unguarded stack stay zero */

/* ---- the switch ---- */

#if AIO_UCONTEXT
struct aio_ctx {
    ucontext_t uc;
};
#else
struct aio_ctx {
    void *sp;
};
void aio_switch_asm(void **save_sp, void *to_sp) __attribute__((visibility("hidden")));
void aio_task_entry(void) __attribute__((visibility("hidden")));
#if defined(__x86_64__)
__asm__(".pushsection .text\n"
        ".globl aio_switch_asm\n"
        ".hidden aio_switch_asm\n"
        ".type aio_switch_asm,@function\n"
        ".p2align 4\n"
        "aio_switch_asm:\n"
        "    .cfi_startproc\n"
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    movq %rsp, (%rdi)\n"
        "    movq %rsi, %rsp\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    ret\n"
        "    .cfi_endproc\n"
        ".size aio_switch_asm, .-aio_switch_asm\n"
        /* A new task's first switch returns here with the task in rbx. The
         * undefined return address ends a debugger's backtrace. */
        ".globl aio_task_entry\n"
        ".hidden aio_task_entry\n"
        ".type aio_task_entry,@function\n"
        "aio_task_entry:\n"
        "    .cfi_startproc\n"
        "    .cfi_undefined rip\n"
        "    movq %rbx, %rdi\n"
        "    call aio_task_main\n"
        "    ud2\n"
        "    .cfi_endproc\n"
        ".size aio_task_entry, .-aio_task_entry\n"
        ".popsection\n");
#elif defined(__aarch64__)
__asm__(".pushsection .text\n"
        ".globl aio_switch_asm\n"
        ".hidden aio_switch_asm\n"
        ".type aio_switch_asm,%function\n"
        ".p2align 4\n"
        "aio_switch_asm:\n"
        "    sub sp, sp, #160\n"
        "    stp x19, x20, [sp, #0]\n"
        "    stp x21, x22, [sp, #16]\n"
        "    stp x23, x24, [sp, #32]\n"
        "    stp x25, x26, [sp, #48]\n"
        "    stp x27, x28, [sp, #64]\n"
        "    stp x29, x30, [sp, #80]\n"
        "    stp d8, d9, [sp, #96]\n"
        "    stp d10, d11, [sp, #112]\n"
        "    stp d12, d13, [sp, #128]\n"
        "    stp d14, d15, [sp, #144]\n"
        "    mov x9, sp\n"
        "    str x9, [x0]\n"
        "    mov sp, x1\n"
        "    ldp x19, x20, [sp, #0]\n"
        "    ldp x21, x22, [sp, #16]\n"
        "    ldp x23, x24, [sp, #32]\n"
        "    ldp x25, x26, [sp, #48]\n"
        "    ldp x27, x28, [sp, #64]\n"
        "    ldp x29, x30, [sp, #80]\n"
        "    ldp d8, d9, [sp, #96]\n"
        "    ldp d10, d11, [sp, #112]\n"
        "    ldp d12, d13, [sp, #128]\n"
        "    ldp d14, d15, [sp, #144]\n"
        "    add sp, sp, #160\n"
        "    ret\n"
        ".size aio_switch_asm, .-aio_switch_asm\n"
        ".globl aio_task_entry\n"
        ".hidden aio_task_entry\n"
        ".type aio_task_entry,%function\n"
        "aio_task_entry:\n"
        "    .cfi_startproc\n"
        "    .cfi_undefined x30\n"
        "    mov x0, x19\n"
        "    bl aio_task_main\n"
        "    brk #0\n"
        "    .cfi_endproc\n"
        ".size aio_task_entry, .-aio_task_entry\n"
        ".popsection\n");
#endif
#endif

/* ---- tasks ---- */

struct aio_stack;

/* What lies below a stack (see "Overflow" above). */
enum stack_guard {
    GUARD_NONE,    /* nothing: the canary watches the stack's lowest bytes */
    GUARD_PROTECT, /* a PROT_NONE page: a mapping of its own, out of the budget */
    GUARD_MARKER,  /* a guard marker in the page table (MADV_GUARD_INSTALL) */
};

enum task_state { TASK_PENDING, TASK_RUNNING, TASK_SUSPENDED, TASK_DONE };

struct gather_state {
    struct aio_task *task; /* the one waiting in aio_gather */
    size_t remaining;
    bool cancelled;
    struct aio_task **children;
    size_t n;
    void **results;      /* the caller's, or NULL */
    struct error *error; /* the first error by time, taken from its child */
    uint64_t error_seq;  /* when that child finished */
};

struct aio_task {
    /* Grouped by who reads them, about a cache line each (with the
     * assembly switch): a pass over 100,000 records is paid by the line.
     * Line 0: the handle of the next step (a timer, or a ready handle),
     * and the saved stack pointer, which the switch into the task reads. */
    struct aio_handle handle;
    struct aio_ctx ctx;
    /* Line 1: a step's start and end, aio_task_warm, aio_gather's first pass. */
    char *stack_top;
    const char *canary; /* an unguarded stack's lowest bytes; NULL: guarded */
    struct aio_loop *loop;
    struct gather_state *gather;
    size_t gather_index; /* its place in the gather's tasks and results */
    enum task_state state;
    bool woken;          /* the current wait has been ended */
    bool cancel_pending; /* asyncio's _must_cancel */
    bool cancelled_wake; /* the current wait was ended by aio_cancel */
    bool stop_when_done; /* run_until_complete's task */
    bool collected;      /* awaited or gathered: someone will free it */
    bool detached;       /* done, nobody will collect it: resume() frees it */
    bool live;           /* made and not yet freed (aio_tasks_close finds tasks by this) */
    bool wait_write;     /* waiting for the descriptor to be writable */
    /* Its function and its outcome; freeing it. */
    task_fn *fn;
    void *arg;
    void *result;
    struct error *error;
    struct aio_stack *stack;
    uint64_t done_seq;
    /* Waiting, and naming it. */
    bool (*on_cancel)(struct aio_task *t); /* undo the current wait; true: wake with Cancelled */
    void *wait;                            /* what on_cancel needs */
    struct aio_task *awaiter;
    struct future *future; /* run_coroutine_threadsafe's */
    const char *name, *file;
    int line;
    int wait_fd;
    unsigned id;
#if AIO_ASAN
    void *asan_fake;
#endif
#if AIO_TSAN
    void *tsan_fiber;
#endif
};

/* A stack and the record of the task that runs on it, paired for life: the
 * records sit side by side in their chunk's array (see map_chunk), the
 * stacks 132 KiB apart. Four cache lines (x86-64 and aarch64, unsanitized):
 * making a task writes all of them, so nothing here that can be computed. */
struct aio_stack {
    _Alignas(64) struct aio_task task; /* first: a record begins on a cache line */
    char *lo;               /* the usable stack, [lo, lo + AIO_STACK_SIZE), above its guard page */
    enum stack_guard guard; /* what the page below lo is */
};
_Static_assert(offsetof(struct aio_stack, task) == 0,
               "a task's record is its stack's first member");

/* The loop's side of the switch, per thread. */
static _Thread_local struct {
    struct aio_ctx ctx;
    struct aio_task *current;
#if AIO_ASAN
    void *asan_fake;
    const void *asan_bottom;
    size_t asan_size;
#endif
#if AIO_TSAN
    void *tsan_fiber;
#endif
} sched;

static atomic_uint task_counter;

static struct error *no_loop(void)
{
    return error_new("RuntimeError", "no running event loop");
}

static struct error *cancelled(void)
{
    return error_new("CancelledError", "%s", "");
}

static bool is_cancelled_error(const struct error *e)
{
    return e && strcmp(e->type, "CancelledError") == 0;
}

struct aio_task *aio_current_task(void)
{
    return sched.current;
}

/* ---- the coroutine registry ("defined at") ---- */

struct coroutine_def {
    struct coroutine_def *next;
    task_fn *fn;
    const char *name, *file;
    int line;
};

static struct coroutine_def *coroutines; /* written only by constructors, before main */

void aio_register_coroutine(task_fn *fn, const char *name, const char *file, int line)
{
    struct coroutine_def *d = xmalloc(sizeof *d);
    *d = (struct coroutine_def){coroutines, fn, name, file, line};
    coroutines = d;
}

static const struct coroutine_def *find_coroutine(task_fn *fn)
{
    for (const struct coroutine_def *d = coroutines; d; d = d->next)
        if (d->fn == fn)
            return d;
    return NULL;
}

/* asyncio's Task repr: <Task finished name='Task-1' coro=<main() done,
 * defined at f.c:20> result=None created at f.c:31> */
static void describe(const struct aio_task *t, char *buf, size_t size)
{
    const char *state = t->state != TASK_DONE          ? "pending"
                        : is_cancelled_error(t->error) ? "cancelled"
                                                       : "finished";
    char defined[160], outcome[280] = "";
    const struct coroutine_def *d = find_coroutine(t->fn);
    if (d)
        snprintf(defined, sizeof defined, "%s:%d", d->file, d->line);
    else
        snprintf(defined, sizeof defined, "?");
    if (t->state == TASK_DONE && !is_cancelled_error(t->error)) {
        if (t->error)
            snprintf(outcome, sizeof outcome, " exception=%s('%s')", t->error->type,
                     t->error->message);
        else if (t->result)
            snprintf(outcome, sizeof outcome, " result=%p", t->result);
        else
            snprintf(outcome, sizeof outcome, " result=None");
    }
    snprintf(buf, size, "<Task %s name='Task-%u' coro=<%s() %s, defined at %s>%s created at %s:%d>",
             state, t->id, t->name, t->state == TASK_DONE ? "done" : "running", defined, outcome,
             t->file, t->line);
}

/* ---- stacks ---- */

static atomic_long budget;      /* of mprotect guards. 0: not read yet; -1: none */
static atomic_bool never_guard; /* no guards of any kind */

void aio_set_guard_budget(long stacks)
{
    atomic_store(&never_guard, stacks <= 0);
    atomic_store(&budget, stacks > 0 ? stacks : -1);
}

static long guard_budget(void)
{
    long b = atomic_load(&budget);
    if (b)
        return b;
    long max_maps = 65530;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "re");
    if (f) {
        if (fscanf(f, "%ld", &max_maps) != 1)
            max_maps = 65530;
        fclose(f);
    }
    b = max_maps / 2 - 2048; /* the rest for threads, libraries, malloc */
    if (AIO_SANITIZED)
        b /= 4;
    if (b < 1)
        b = -1; /* no mprotect guards */
    atomic_store(&budget, b);
    return b;
}

static atomic_long guarded_stacks; /* PROT_NONE guards, in every loop of the process */

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13; glibc's headers may not have it yet */
#endif

/* Whether the kernel takes guard markers: 0 not known yet, 1 yes, -1 no. */
static atomic_int markers;

/* Does the page at `guard` fault? 1 yes, 0 no, -1 could not ask (no
 * descriptors). Asked of the first marker: a layer that accepts advice it
 * does not know (qemu-user 7.2 does) must not leave stacks that only look
 * guarded. write(2) reads the buffer in the kernel, which gets EFAULT from
 * a guarded page, and 8 zero bytes from an untouched one: to an eventfd,
 * that adds 0 to its count. */
static int marker_faults(const char *guard)
{
    int fd = eventfd(0, EFD_CLOEXEC);
    if (fd < 0)
        return -1;
    bool faults = write(fd, guard, 8) < 0 && errno == EFAULT;
    close(fd);
    return faults;
}

/* The page at `guard` (below a stack) becomes its guard: a marker where the
 * kernel has them, else a PROT_NONE page while the budget lasts, else none. */
static enum stack_guard guard_install(char *guard, size_t page)
{
    if (atomic_load_explicit(&never_guard, memory_order_relaxed))
        return GUARD_NONE;
    int known = atomic_load_explicit(&markers, memory_order_relaxed);
    if (known >= 0) {
        if (madvise(guard, page, MADV_GUARD_INSTALL) == 0) {
            if (known)
                return GUARD_MARKER;
            int works = marker_faults(guard);
            if (works >= 0)
                atomic_store_explicit(&markers, works ? 1 : -1, memory_order_relaxed);
            if (works > 0)
                return GUARD_MARKER;
        } else if (errno == EINVAL) { /* a kernel before 6.13 */
            atomic_store_explicit(&markers, -1, memory_order_relaxed);
        }
    }
    /* mprotect fails when the mapping count runs out early: unguarded. */
    if (atomic_fetch_add(&guarded_stacks, 1) < guard_budget() &&
        mprotect(guard, page, PROT_NONE) == 0)
        return GUARD_PROTECT;
    atomic_fetch_sub(&guarded_stacks, 1);
    return GUARD_NONE;
}

/* ---- naming the task that hit its guard page ----
 * A task that runs into its guard page faults there (SIGSEGV). Left at
 * that, the process dies saying nothing; so, unless a sanitizer (which
 * reports the fault itself) or the program has a SIGSEGV handler of its
 * own, a handler on an alternate signal stack (the task's own stack is the
 * one that ran out) writes "aio: task ... overflowed its ... stack" when
 * the faulting address is the running task's guard page, and returns with
 * the default action restored (SA_RESETHAND): the instruction faults again
 * and the process dies of SIGSEGV as before. Installed the first time a
 * thread resumes a task with a guarded stack; only write(2) in the handler. */
static void put_str(char **p, char *end, const char *str)
{
    while (*str && *p < end)
        *(*p)++ = *str++;
}

static void put_num(char **p, char *end, unsigned long n)
{
    char digits[24];
    int i = 0;
    do
        digits[i++] = (char)('0' + n % 10);
    while ((n /= 10) && i < (int)sizeof digits);
    while (i > 0 && *p < end)
        *(*p)++ = digits[--i];
}

static void guard_fault(int sig, siginfo_t *info, void *uc);

/* The guard page's size, for guard_fault: set by map_chunk, before any
 * guarded stack exists (sysconf is not async-signal-safe). */
static atomic_size_t guard_page_size;

static void guard_fault(int sig, siginfo_t *info, void *uc)
{
    (void)sig;
    (void)uc;
    const struct aio_task *t = sched.current;
    const char *addr = info->si_addr;
    size_t page = atomic_load_explicit(&guard_page_size, memory_order_relaxed);
    if (!t || t->stack->guard == GUARD_NONE || addr < t->stack->lo - page || addr >= t->stack->lo)
        return; /* not a guard page: the default action, on the retry */
    char msg[512], *p = msg, *end = msg + sizeof msg - 1;
    put_str(&p, end, "aio: task 'Task-");
    put_num(&p, end, t->id);
    put_str(&p, end, "' (");
    put_str(&p, end, t->name);
    put_str(&p, end, ", created at ");
    put_str(&p, end, t->file);
    put_str(&p, end, ":");
    put_num(&p, end, (unsigned long)t->line);
    put_str(&p, end, ") overflowed its ");
    put_num(&p, end, AIO_STACK_SIZE);
    put_str(&p, end, "-byte stack (it hit the guard page below it)");
    *p++ = '\n';
    ssize_t n = write(STDERR_FILENO, msg, (size_t)(p - msg));
    (void)n;
}

static void guard_handler_install(void)
{
    struct sigaction old;
    if (sigaction(SIGSEGV, NULL, &old) < 0 || old.sa_handler != SIG_DFL)
        return; /* the program's own handler stays */
    struct sigaction sa = {0};
    sa.sa_sigaction = guard_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
}

static _Thread_local bool altstack_ready;

static void guard_reporting_ready(void)
{
    if (AIO_SANITIZED || altstack_ready)
        return;
    altstack_ready = true;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    CHECK_PT(pthread_once(&once, guard_handler_install));
    stack_t old;
    if (sigaltstack(NULL, &old) == 0 && !(old.ss_flags & SS_DISABLE))
        return;              /* the thread has one already */
    size_t size = 64 * 1024; /* never freed: the thread may fault until it ends */
    stack_t ss = {.ss_sp = xmalloc(size), .ss_size = size, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) < 0)
        free(ss.ss_sp);
}

static void canary_check(const struct aio_task *t)
{
    if (!t->canary) /* guarded (the task keeps it: no miss on its struct aio_stack) */
        return;
    const volatile uint64_t *w = (const volatile uint64_t *)(const void *)t->canary;
    for (int i = 0; i < AIO_CANARY_WORDS; i++)
        if (w[i] != 0)
            die("aio: task 'Task-%u' (%s, created at %s:%d) overflowed its %zu-byte stack "
                "(an unguarded stack: its canary was overwritten)",
                t->id, t->name, t->file, t->line, (size_t)AIO_STACK_SIZE);
}

/* Stacks are mapped STACKS_PER_CHUNK at a time (one mmap, one madvise; a
 * guard is one madvise or mprotect each), each slot a page for the guard
 * and then the stack, and go to the pool highest first, so a task's stack
 * usually has the next task's right below it. The pool is an array, a
 * stack of free stacks with room for every stack mapped (so putting one
 * back cannot fail): the record a task made POOL_AHEAD tasks from now will
 * write is found without a load, and fetched (a linked pool could fetch
 * only the next one, the list's link being in the record itself). Item 60
 * at 100,000 cells, against the linked pool: making the tasks 7.3 -> 6.4
 * ms, a generation 0.1326 -> 0.1295 s and 0.1335 -> 0.1297 s (9
 * alternating runs each); putting the stacks back when aio_gather returns
 * takes 0.2 ms, where splicing a list took none. */
enum { STACKS_PER_CHUNK = 64, POOL_AHEAD = 4 };

struct aio_stack_chunk {
    struct aio_stack_chunk *next;
    void *map;
    size_t map_size, n;
    struct aio_stack stacks[]; /* n of them */
};

static int map_chunk(struct aio_loop *loop, size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), slot = page + AIO_STACK_SIZE;
    atomic_store_explicit(&guard_page_size, page, memory_order_relaxed);
    /* The records, side by side, each on its own cache lines. Taken first:
     * where address space runs out (ulimit -v), either failing is the
     * OSError, not a death in the allocation after the mmap. */
    size_t size =
        (sizeof(struct aio_stack_chunk) + n * sizeof(struct aio_stack) + 63) & ~(size_t)63;
    size_t all = loop->stacks_mapped + n;
    if (all > loop->stack_pool_cap) { /* room in the pool for every stack, free or not */
        size_t cap = 2 * loop->stack_pool_cap > all ? 2 * loop->stack_pool_cap : all;
        struct aio_stack **pool = realloc(loop->stack_pool, cap * sizeof *pool);
        if (!pool)
            return ENOMEM;
        loop->stack_pool = pool;
        loop->stack_pool_cap = cap;
    }
    struct aio_stack_chunk *c = aligned_alloc(64, size);
    if (!c)
        return ENOMEM;
    void *map = mmap(NULL, n * slot, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (map == MAP_FAILED) {
        int err = errno;
        free(c);
        return err;
    }
    /* Where transparent huge pages are "always", stacks would be backed
     * 2 MiB at a time: one page per task is the point. */
    madvise(map, n * slot, MADV_NOHUGEPAGE);
    *c = (struct aio_stack_chunk){loop->stack_chunks, map, n * slot, n};
    loop->stack_chunks = c;
    loop->stacks_mapped += n;
    for (size_t i = 0; i < n; i++) {
        char *base = (char *)map + i * slot;
        c->stacks[i] = (struct aio_stack){.lo = base + page, .guard = guard_install(base, page)};
        loop->stack_pool[loop->stack_pool_n++] = &c->stacks[i];
    }
    return 0;
}

static struct error *stack_get(struct aio_loop *loop, struct aio_stack **out)
{
    if (!loop->stack_pool_n) {
        int err = map_chunk(loop, STACKS_PER_CHUNK);
        if (err && (err = map_chunk(loop, 1)) != 0) /* room for one, perhaps */
            return error_new("OSError", "mmap of a %d KiB task stack: %s", AIO_STACK_SIZE / 1024,
                             strerror(err));
    }
    struct aio_stack *s = loop->stack_pool[--loop->stack_pool_n];
    /* The tasks made next (a fan-out makes thousands in a row) write the
     * next records in the pool: fetch the one POOL_AHEAD on. */
    if (loop->stack_pool_n >= POOL_AHEAD) {
        const char *next = (const char *)loop->stack_pool[loop->stack_pool_n - POOL_AHEAD];
        for (size_t i = 0; i < sizeof *s; i += 64)
            __builtin_prefetch(next + i, 1);
    }
#if AIO_ASAN
    __asan_unpoison_memory_region(s->lo, AIO_STACK_SIZE);
#endif
    *out = s;
    return NULL;
}

static void stack_put(struct aio_loop *loop, struct aio_stack *s)
{
    loop->stack_pool[loop->stack_pool_n++] = s; /* map_chunk made room for it */
}

/* At close, when every task has ended: every stack is back in the pool. */
static void stacks_unmap(struct aio_loop *loop)
{
    while (loop->stack_chunks) {
        struct aio_stack_chunk *c = loop->stack_chunks;
        loop->stack_chunks = c->next;
        for (size_t i = 0; i < c->n; i++)
            if (c->stacks[i].guard == GUARD_PROTECT)
                atomic_fetch_sub(&guarded_stacks, 1);
        munmap(c->map, c->map_size);
        free(c);
    }
    free(loop->stack_pool);
    loop->stack_pool = NULL;
    loop->stack_pool_n = loop->stack_pool_cap = loop->stacks_mapped = 0;
}

/* ---- switching ---- */

static void ctx_switch(struct aio_ctx *from, struct aio_ctx *to)
{
#if AIO_UCONTEXT
    if (swapcontext(&from->uc, &to->uc) < 0)
        die_errno("aio: swapcontext");
#else
    aio_switch_asm(&from->sp, to->sp);
#endif
}

/* On the task's stack, right after a switch into it. */
static void arrived(struct aio_task *t)
{
#if AIO_ASAN
    __sanitizer_finish_switch_fiber(t->asan_fake, &sched.asan_bottom, &sched.asan_size);
#else
    (void)t;
#endif
}

/* task -> loop. exiting: the task will never run again (its fake stack goes). */
static void switch_to_loop(struct aio_task *t, bool exiting)
{
    canary_check(t);
#if AIO_ASAN
    __sanitizer_start_switch_fiber(exiting ? NULL : &t->asan_fake, sched.asan_bottom,
                                   sched.asan_size);
#else
    (void)exiting;
#endif
#if AIO_TSAN
    __tsan_switch_to_fiber(sched.tsan_fiber, 0);
#endif
    ctx_switch(&t->ctx, &sched.ctx);
    arrived(t);
}

static void task_free(struct aio_task *t);
static void wake(struct aio_task *t);

/* A gathered task's outcome is taken as it ends (or by aio_gather, if it
 * had ended already): its result to its place, its error kept if it is the
 * first by time. Its record is warm then, and the ends of 100,000 sleeping
 * tasks are spread over the time they wait for their deadlines, so
 * aio_gather has no pass to make when the last one has ended. */
static void take_outcome(struct gather_state *g, struct aio_task *t)
{
    if (g->results)
        g->results[t->gather_index] = t->result;
    if (t->error && (!g->error || t->done_seq < g->error_seq)) {
        error_free(g->error);
        g->error = t->error;
        g->error_seq = t->done_seq;
    } else {
        error_free(t->error);
    }
    t->error = NULL;
}

/* The end of a task, on its own stack. */
static void finish(struct aio_task *t)
{
    struct aio_loop *loop = t->loop;
    t->state = TASK_DONE;
    t->done_seq = ++loop->done_seq;
    loop->tasks_pending--;
    if (t->awaiter)
        wake(t->awaiter);
    if (t->gather) { /* its outcome is the gather's now: resume() frees it (into the gather) */
        take_outcome(t->gather, t);
        if (--t->gather->remaining == 0)
            wake(t->gather->task);
        t->detached = true;
    }
    if (t->stop_when_done)
        aio_loop_stop(loop);
    if (t->future) {
        if (t->error)
            future_set_error(t->future, t->error);
        else
            future_set_result(t->future, t->result);
        t->error = NULL;
        t->future = NULL;
        t->detached = true; /* nobody awaits it: resume() frees it */
    }
}

noreturn void aio_task_main(struct aio_task *t) __attribute__((used, visibility("hidden")));
void aio_task_main(struct aio_task *t)
{
    arrived(t);
    t->state = TASK_RUNNING;
    if (t->cancel_pending) { /* cancelled before it started: never runs */
        t->cancel_pending = false;
        t->error = cancelled();
    } else {
        t->error = t->fn(t->arg, &t->result);
        if (t->cancel_pending && !t->error) { /* cancelled as it returned: asyncio */
            t->cancel_pending = false;        /* ends it cancelled, the value dropped */
            t->result = NULL;
            t->error = cancelled();
        }
    }
    finish(t);
    switch_to_loop(t, true);
    die("aio: a finished task was resumed");
}

#if AIO_UCONTEXT
static void ucontext_entry(unsigned hi, unsigned lo)
{
    aio_task_main((struct aio_task *)(((uintptr_t)hi << 32) | (uintptr_t)lo));
}
#endif

static void prepare_context(struct aio_task *t)
{
    char *top = t->stack_top; /* not t->stack's: aio_task_warm fetched this line */
#if AIO_UCONTEXT
    if (getcontext(&t->ctx.uc) < 0)
        die_errno("aio: getcontext");
    t->ctx.uc.uc_stack.ss_sp = t->stack->lo;
    t->ctx.uc.uc_stack.ss_size = (size_t)(top - t->stack->lo);
    t->ctx.uc.uc_link = NULL;
    uintptr_t p = (uintptr_t)t;
    makecontext(&t->ctx.uc, (void (*)(void))ucontext_entry, 2, (unsigned)(p >> 32),
                (unsigned)(p & 0xffffffffu));
    (void)top;
#elif defined(__x86_64__)
    /* Popped by aio_switch_asm: r15 r14 r13 r12 rbx rbp, then ret into
     * aio_task_entry with rsp 16-byte aligned (its call then pushes 8). */
    void **sp = (void **)(void *)((uintptr_t)top & ~(uintptr_t)15);
    *--sp = NULL;
    *--sp = NULL;
    *--sp = (void *)(uintptr_t)aio_task_entry;
    *--sp = NULL; /* rbp */
    *--sp = t;    /* rbx */
    for (int i = 0; i < 4; i++)
        *--sp = NULL; /* r12-r15 */
    t->ctx.sp = sp;
#elif defined(__aarch64__)
    /* 160 bytes popped by aio_switch_asm: x19 at 0, x29 at 80, x30 at 88. */
    void **sp = (void **)(void *)(((uintptr_t)top & ~(uintptr_t)15) - 160);
    memset(sp, 0, 160);
    sp[0] = t;
    sp[11] = (void *)(uintptr_t)aio_task_entry;
    t->ctx.sp = sp;
#endif
}

/* loop -> task; only from a loop callback, never from a task. */
static void resume(struct aio_task *t)
{
    if (sched.current)
        die("aio: a task resumed from inside another task");
    if (t->state == TASK_DONE)
        die("aio: task 'Task-%u' (%s) resumed after it finished", t->id, t->name);
    struct aio_loop *loop = t->loop;
    t->woken = true;
    if (t->state == TASK_PENDING) {
        prepare_context(t); /* its first frame: this switch reads it */
#if AIO_TSAN
        t->tsan_fiber = __tsan_create_fiber(0); /* TSan counts fibers as threads: */
#endif                                          /* only running tasks have one */
    }
    t->state = TASK_RUNNING;
    if (!t->canary && !altstack_ready) /* guarded */
        guard_reporting_ready();
    sched.current = t;
    double t0 = loop->debug ? clock_now() : 0;
#if AIO_TSAN
    sched.tsan_fiber = __tsan_get_current_fiber();
#endif
#if AIO_ASAN
    __sanitizer_start_switch_fiber(&sched.asan_fake, t->stack->lo, AIO_STACK_SIZE);
#endif
#if AIO_TSAN
    __tsan_switch_to_fiber(t->tsan_fiber, 0);
#endif
    ctx_switch(&sched.ctx, &t->ctx);
#if AIO_ASAN
    __sanitizer_finish_switch_fiber(sched.asan_fake, NULL, NULL);
#endif
    sched.current = NULL;
    if (loop->debug) {
        double dt = clock_now() - t0;
        loop->step_reported = true;
        if (dt > AIO_SLOW_CALLBACK) {
            char buf[768];
            describe(t, buf, sizeof buf);
            fprintf(stderr, "Executing %s took %.3f seconds\n", buf, dt);
        }
    }
    if (t->state == TASK_DONE) {
#if AIO_TSAN
        __tsan_destroy_fiber(t->tsan_fiber);
#endif
        if (t->detached)
            task_free(t);
    } else {
        t->state = TASK_SUSPENDED;
    }
}

void aio_task_step(void *arg)
{
    resume(arg);
}
#define step aio_task_step

/* What resume() and the task's first instructions touch: its record, the
 * frames saved above the stack pointer and those its next calls will write
 * below it (prefetches never fault). A task yet to start has its first
 * frames written at the top of its stack (Item 60's step_cell, with its
 * calls and the switch, uses 320 bytes: FIRST_FRAMES), and a first step
 * that ends in a sleep (Item 60's) reads only the record's first three
 * lines: the fourth (its name, future, descriptor and stack) is mostly
 * for its end, and a step that does need it just misses. A suspended task
 * returns through the frames above its saved stack pointer and calls below
 * it: from BELOW_SP under it, at most STACK_LINES lines. Each line fetched
 * and not read takes a place among the misses in flight, and so slows the
 * page walks of the tasks ahead (aio_task_prime waits on those): fetching
 * the fourth record line too made Item 60 at 100,000 cells 2-3 ms a
 * generation slower (0.1342 against 0.1321 s, then 0.1369 against
 * 0.1335 s, 9 alternating runs each); fetching 512 bytes at a task's start
 * and 256 under its stack pointer, where it now fetches 320 and 128, made
 * it 3.3 ms slower (0.1355 against 0.1322 s, 11 alternating runs), and
 * its first steps 5 ms slower (29.1 against 24.0 ms). */
void aio_task_warm(void *arg)
{
    struct aio_task *t = arg;
    const char *end = (const char *)(t + 1);
#if !AIO_UCONTEXT /* (a ucontext_t is much bigger, and is all read) */
    if (t->state == TASK_PENDING)
        end = (const char *)t + AIO_TASK_FIRST_LINES * 64;
#endif
    for (const char *p = (const char *)t; p < end; p += 64)
        __builtin_prefetch(p, 1);
    enum { FIRST_FRAMES = 320, BELOW_SP = 128, STACK_LINES = 10 };
    const char *top = t->stack_top, *lo = top - FIRST_FRAMES;
#if !AIO_UCONTEXT /* (ucontext's saved stack pointer is not worth digging out) */
    if (t->state != TASK_PENDING)
        lo = (const char *)t->ctx.sp - BELOW_SP;
#endif
    const char *hi = lo + STACK_LINES * 64 < top ? lo + STACK_LINES * 64 : top;
    for (const char *p = lo; p < hi; p += 64)
        __builtin_prefetch(p, 1);
    if (t->canary)
        __builtin_prefetch(t->canary, 0); /* canary_check, at the task's next switch */
}

/* Earlier still: one line of the task's stack page, so the page walk its
 * TLB miss takes is done by the time aio_task_warm fetches the frames. */
void aio_task_prime(void *arg)
{
    struct aio_task *t = arg;
    const char *sp = t->stack_top - 64;
#if !AIO_UCONTEXT
    if (t->state != TASK_PENDING)
        sp = t->ctx.sp;
#endif
    __builtin_prefetch(sp, 1);
    __builtin_prefetch(t->arg, 0); /* what its function most likely reads first */
}

/* Schedule the task's next step (the end of its current wait). */
static void wake(struct aio_task *t)
{
    if (t->woken)
        return;
    t->woken = true;
    aio_call_soon(t->loop, &t->handle, step, t);
}

/* Suspend the current task until woken; the wait is undone by on_cancel if
 * the task is cancelled first. Returns CancelledError if it was. */
static struct error *suspend(struct aio_task *t, bool (*on_cancel)(struct aio_task *), void *wait)
{
    t->on_cancel = on_cancel;
    t->wait = wait;
    t->woken = false;
    switch_to_loop(t, false);
    t->on_cancel = NULL;
    t->wait = NULL;
    if (t->cancelled_wake) {
        t->cancelled_wake = false;
        return cancelled();
    }
    return NULL;
}

/* The task that may suspend now, or the error to return. */
static struct error *current(struct aio_task **tp)
{
    *tp = sched.current;
    if (!*tp)
        return no_loop();
    if ((*tp)->cancel_pending) {
        (*tp)->cancel_pending = false;
        return cancelled();
    }
    return NULL;
}

static struct error *task_new(struct aio_loop *loop, struct aio_task **taskp, task_fn *fn,
                              const char *name, void *arg, const char *file, int line)
{
    *taskp = NULL;
    /* (Before the record's stores: a locked add waits for those to drain.) */
    unsigned id = atomic_fetch_add(&task_counter, 1) + 1;
    struct aio_stack *stack = NULL;
    struct error *err = stack_get(loop, &stack);
    if (err)
        return err;
    /* The record paired with the stack: no malloc, and making a task does
     * not touch its stack (its first frame is written when it first runs). */
    struct aio_task *t = &stack->task;
    memset(t, 0, sizeof *t);
    t->stack = stack;
    t->stack_top = stack->lo + AIO_STACK_SIZE;
    t->canary = stack->guard != GUARD_NONE ? NULL : stack->lo;
    t->loop = loop;
    t->fn = fn;
    t->arg = arg;
    t->name = name;
    t->file = file;
    t->line = line;
    t->id = id;
    t->state = TASK_PENDING;
    t->wait_fd = -1;
    t->live = true;
    loop->tasks_live++;
    loop->tasks_pending++;
    /* Made while its loop closes (by a task being cancelled, or a call from
     * another thread): asyncio destroys it pending; here it starts
     * cancelled, so it never runs, and close still waits for it to end. */
    t->cancel_pending = loop->closing;
    aio_call_soon(loop, &t->handle, step, t);
    t->woken = true; /* its first step is scheduled */
    *taskp = t;
    return NULL;
}

/* A gathered child's stack, and so its record, waits until aio_gather
 * returns; any other goes back to the pool now. */
static void task_free(struct aio_task *t)
{
    struct aio_loop *loop = t->loop;
    t->live = false;
    loop->tasks_live--;
    error_free(t->error);
    t->error = NULL;
    if (!t->gather)
        stack_put(loop, t->stack); /* and the record with it */
}

struct error *aio_create_task_at(struct aio_task **task, task_fn *fn, const char *name, void *arg,
                                 const char *file, int line)
{
    *task = NULL;
    struct aio_loop *loop = aio_get_running_loop();
    if (!loop)
        return no_loop();
    return task_new(loop, task, fn, name, arg, file, line);
}

void aio_cancel(struct aio_task *t)
{
    if (t->state == TASK_DONE)
        return;
    if (t->state == TASK_SUSPENDED && !t->woken && t->on_cancel) {
        if (t->on_cancel(t)) {
            t->cancelled_wake = true;
            wake(t);
        }
        return;
    }
    t->cancel_pending = true;
}

/* ---- sleep, descriptors ---- */

static bool sleep_cancel(struct aio_task *t)
{
    aio_handle_cancel(&t->handle);
    return true;
}

struct error *aio_sleep(double seconds)
{
    struct aio_task *t;
    struct error *err = current(&t);
    if (err)
        return err;
    if (seconds > 0)
        aio_call_later(t->loop, &t->handle, seconds, step, t);
    else
        aio_call_soon(t->loop, &t->handle, step, t);
    return suspend(t, sleep_cancel, NULL);
}

static void fd_unwatch(struct aio_task *t)
{
    aio_unwatch_lazily(t->loop, t->wait_fd, t->wait_write);
}

static void fd_ready(void *arg)
{
    fd_unwatch(arg);
    resume(arg);
}

static bool fd_cancel(struct aio_task *t)
{
    fd_unwatch(t);
    return true;
}

static struct error *wait_fd(int fd, bool write)
{
    struct aio_task *t;
    struct error *err = current(&t);
    if (err)
        return err;
    if (fd >= 0 && (size_t)fd < t->loop->fds_cap) {
        const struct aio_fd *e = &t->loop->fds[fd];
        if (write ? e->writer == fd_ready : e->reader == fd_ready)
            return error_new("RuntimeError", "another task is already waiting for fd %d to be %s",
                             fd, write ? "writable" : "readable");
    }
    t->wait_fd = fd;
    t->wait_write = write;
    err =
        write ? aio_add_writer(t->loop, fd, fd_ready, t) : aio_add_reader(t->loop, fd, fd_ready, t);
    if (err)
        return err;
    return suspend(t, fd_cancel, NULL);
}

struct error *aio_wait_readable(int fd)
{
    return wait_fd(fd, false);
}

struct error *aio_wait_writable(int fd)
{
    return wait_fd(fd, true);
}

/* ---- await and gather ---- */

/* Cancelled after its wait ended but before it resumed (aio_cancel then
 * only sets cancel_pending): the wait itself returns CancelledError, as
 * asyncio's _must_cancel throws it into the await that was about to return. */
static bool woken_then_cancelled(struct aio_task *t)
{
    if (!t->cancel_pending)
        return false;
    t->cancel_pending = false;
    return true;
}

static bool await_cancel(struct aio_task *t)
{
    aio_cancel(t->wait); /* asyncio: cancelling the awaiter cancels what it awaits */
    return false;        /* keep waiting for it to finish */
}

static void collect(struct aio_task *child, void **result, struct error **error)
{
    if (result)
        *result = child->result;
    *error = child->error;
    child->error = NULL;
    task_free(child);
}

struct error *aio_await(struct aio_task *task, void **result)
{
    if (result)
        *result = NULL;
    struct aio_task *t;
    struct error *err = current(&t);
    if (err)
        return err;
    if (task == t)
        die("aio_await: a task awaits itself");
    if (task->collected)
        die("aio_await: the task is already awaited (a task is collected once)");
    task->collected = true;
    if (task->state != TASK_DONE) {
        task->awaiter = t;
        suspend(t, await_cancel, task); /* never a cancelled wake: it waits for the task */
    }
    collect(task, result, &err);
    if (woken_then_cancelled(t)) {
        if (result)
            *result = NULL;
        error_free(err);
        return cancelled();
    }
    return err;
}

enum { GATHER_AHEAD = 8 };

static bool gather_cancel(struct aio_task *t)
{
    struct gather_state *g = t->wait;
    g->cancelled = true;
    for (size_t i = 0; i < g->n; i++) /* (one that has ended: nothing) */
        aio_cancel(g->children[i]);
    return false; /* still wait for every one */
}

struct error *aio_gather(struct aio_task **tasks, size_t n, void **results)
{
    for (size_t i = 0; results && i < n; i++)
        results[i] = NULL;
    struct aio_task *t;
    struct error *err = current(&t);
    if (err)
        return err;
    struct gather_state g = {.task = t, .children = tasks, .n = n, .results = results};
    for (size_t i = 0; i < n; i++) {
        if (i + GATHER_AHEAD < n) /* the record's line this pass reads */
            __builtin_prefetch(&tasks[i + GATHER_AHEAD]->state, 1);
        if (tasks[i] == t)
            die("aio_gather: a task gathers itself");
        if (tasks[i]->collected)
            die("aio_gather: task %zu is already awaited (a task is collected once)", i);
        tasks[i]->collected = true;
        tasks[i]->gather_index = i;
        tasks[i]->gather = &g;
        if (tasks[i]->state == TASK_DONE) {
            take_outcome(&g, tasks[i]);
            task_free(tasks[i]);
        } else {
            g.remaining++;
        }
    }
    if (g.remaining) /* each child's outcome is taken, and the child freed, as it ends */
        suspend(t, gather_cancel, &g);
    /* Every child has ended and been freed: their stacks back to the pool,
     * found from the array, not from the records (the record is the
     * stack's first member), which are cold by now. */
    for (size_t i = 0; i < n; i++)
        stack_put(t->loop, (struct aio_stack *)(void *)tasks[i]);
    if (g.cancelled || woken_then_cancelled(t)) {
        error_free(g.error);
        for (size_t i = 0; results && i < n; i++)
            results[i] = NULL;
        return cancelled();
    }
    return g.error;
}

/* ---- run ---- */

struct error *aio_loop_run_until_complete_at(struct aio_loop *loop, task_fn *fn, const char *name,
                                             void *arg, void **result, const char *file, int line)
{
    if (result)
        *result = NULL;
    if (aio_get_running_loop())
        return error_new("RuntimeError", "Cannot run the event loop while another loop is running");
    struct aio_task *t;
    struct error *err = task_new(loop, &t, fn, name, arg, file, line);
    if (err)
        return err;
    t->stop_when_done = true;
    aio_loop_run_forever(loop);
    if (t->state != TASK_DONE) {
        t->stop_when_done = false; /* the loop keeps it; freed at close */
        return error_new("RuntimeError", "Event loop stopped before Future completed.");
    }
    collect(t, result, &err);
    return err;
}

struct error *aio_run_at(task_fn *fn, const char *name, void *arg, void **result, bool debug,
                         const char *file, int line)
{
    if (result)
        *result = NULL;
    if (aio_get_running_loop())
        return error_new("RuntimeError", "aio_run() cannot be called from a running event loop");
    struct aio_loop *loop;
    struct error *err = aio_loop_create(&loop);
    if (err)
        return err;
    if (debug)
        aio_loop_set_debug(loop, true);
    err = aio_loop_run_until_complete_at(loop, fn, name, arg, result, file, line);
    aio_loop_close(loop);
    return err;
}

/* ---- closing ---- */

static bool all_done(struct aio_loop *loop)
{
    return loop->tasks_pending == 0;
}

/* Call fn on every task of the loop not yet freed. The loop keeps no list
 * of its tasks (linking and unlinking 100,000 would write their neighbours'
 * records): the live ones are found in the stack chunks, newest first. */
static void for_each_live_task(struct aio_loop *loop, void (*fn)(struct aio_task *))
{
    for (struct aio_stack_chunk *c = loop->stack_chunks; c; c = c->next)
        for (size_t i = c->n; i-- > 0;)
            if (c->stacks[i].task.live)
                fn(&c->stacks[i].task);
}

/* At close: a task nobody collected is freed, and its error, unless it was
 * cancelled, reported as asyncio does. */
static void abandon(struct aio_task *t)
{
    if (t->error && !is_cancelled_error(t->error)) {
        char buf[768];
        describe(t, buf, sizeof buf);
        fprintf(stderr, "Task exception was never retrieved: %s\n", buf);
    }
    task_free(t);
}

void aio_tasks_close(struct aio_loop *loop)
{
    /* Closing a loop from inside another one's task is fine while there is
     * nothing of it left to run; running it there is impossible. */
    bool nested = aio_get_running_loop() != NULL;
    loop->stopping = false; /* a stop() left over would make the rounds spin */
    loop->closing = true;
    if (!nested)
        aio_set_running_loop(loop);
again:
    if (!all_done(loop)) {
        if (nested)
            die("aio_loop_close: tasks are left to run, and another loop runs in this thread");
        for_each_live_task(loop, aio_cancel);
        while (!all_done(loop))
            aio_loop_run_once(loop);
    }
    for_each_live_task(loop, abandon);
    if (loop->default_executor) {
        executor_destroy(loop->default_executor); /* shuts down, waiting */
        loop->default_executor = NULL;
    }
    if (loop->outstanding > 0 && nested)
        die("aio_loop_close: completions from other threads are due, and another loop runs in "
            "this thread");
    while (loop->outstanding > 0)
        aio_loop_run_once(loop);
    /* A completion, or a call from another thread (run_coroutine_threadsafe),
     * may have made a task in those rounds: it starts cancelled; run it out. */
    if (!all_done(loop) || loop->tasks_live)
        goto again;
    if (!nested)
        aio_set_running_loop(NULL);
    stacks_unmap(loop);
}

/* ---- bridges to threads ---- */

/* One wait for a future resolved in another thread. */
struct bridge {
    struct aio_loop *loop;
    struct aio_task *task; /* NULL once abandoned (the task was cancelled) */
    struct future *future;
    bool own_future; /* run_in_executor's: destroyed here */
};

static void bridge_on_loop(void *arg)
{
    struct bridge *b = arg;
    b->loop->outstanding--;
    if (b->task) {
        wake(b->task);
        return;
    }
    if (b->own_future) { /* abandoned: the result is discarded */
        error_free(future_result(b->future, NULL));
        future_destroy(b->future);
    }
    free(b);
}

static void bridge_done(struct future *f, void *arg)
{
    (void)f;
    struct bridge *b = arg;
    aio_call_soon_threadsafe(b->loop, bridge_on_loop, b);
}

static bool bridge_cancel(struct aio_task *t)
{
    struct bridge *b = t->wait;
    if (!b->own_future && future_remove_done_callback(b->future, bridge_done, b)) {
        b->loop->outstanding--;
        free(b);
    } else {
        b->task = NULL; /* the completion is on its way: it frees b */
    }
    return true;
}

static struct error *await_bridge(struct aio_task *t, struct future *f, bool own, void **result)
{
    struct bridge *b = xmalloc(sizeof *b);
    *b = (struct bridge){t->loop, t, f, own};
    t->loop->outstanding++;
    future_add_done_callback(f, bridge_done, b);
    struct error *err = suspend(t, bridge_cancel, b);
    if (err)
        return err; /* b now belongs to the completion (or is freed) */
    free(b);
    err = future_result(f, result);
    if (own)
        future_destroy(f);
    if (woken_then_cancelled(t)) {
        if (result)
            *result = NULL; /* the function's value, if it made one, is dropped */
        error_free(err);
        return cancelled();
    }
    return err;
}

static int default_workers(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1)
        cpus = 1;
    return cpus + 4 < 32 ? (int)cpus + 4 : 32;
}

struct error *aio_run_in_executor(struct executor *ex, task_fn *fn, void *arg, void **result)
{
    if (result)
        *result = NULL;
    struct aio_task *t;
    struct error *err = current(&t);
    if (err)
        return err;
    if (!ex) {
        if (!t->loop->default_executor) {
            t->loop->default_executor = thread_pool_create(default_workers());
            if (!t->loop->default_executor)
                return error_new("OSError", "the default executor's threads: %s", strerror(errno));
        }
        ex = t->loop->default_executor;
    }
    struct future *f = executor_submit(ex, fn, arg);
    if (!f)
        return error_new("RuntimeError", "cannot schedule new futures after shutdown");
    return await_bridge(t, f, true, result);
}

struct error *aio_await_future(struct future *f, void **result)
{
    if (result)
        *result = NULL;
    struct aio_task *t;
    struct error *err = current(&t);
    if (err)
        return err;
    if (future_done(f))
        return future_result(f, result);
    return await_bridge(t, f, false, result);
}

struct threadsafe_call {
    struct aio_loop *loop;
    task_fn *fn;
    const char *name, *file;
    int line;
    void *arg;
    struct future *future;
};

static void threadsafe_start(void *arg)
{
    struct threadsafe_call *c = arg;
    struct aio_task *t;
    struct error *err = task_new(c->loop, &t, c->fn, c->name, c->arg, c->file, c->line);
    if (err)
        future_set_error(c->future, err);
    else
        t->future = c->future;
    free(c);
}

static void threadsafe_drop(void *arg)
{
    struct threadsafe_call *c = arg;
    future_set_error(c->future, cancelled());
    free(c);
}

struct future *aio_run_coroutine_threadsafe_at(struct aio_loop *loop, task_fn *fn, const char *name,
                                               void *arg, const char *file, int line)
{
    struct threadsafe_call *c = xmalloc(sizeof *c);
    struct future *f = future_create();
    *c = (struct threadsafe_call){loop, fn, name, file, line, arg, f};
    aio_call_soon_threadsafe_drop(loop, threadsafe_start, threadsafe_drop, c);
    return f;
}

/* ---- measuring the switch (bench/aio_costs) ---- */

static struct error *ping(void *arg, void **result)
{
    (void)result;
    long n = *(long *)arg;
    struct aio_task *t = sched.current;
    for (long i = 0; i < n; i++)
        switch_to_loop(t, false);
    return NULL;
}

double aio_switch_ns(long switches)
{
    struct aio_loop *loop;
    struct error *err = aio_loop_create(&loop);
    if (err)
        error_die(err);
    long rounds = switches / 2;
    struct aio_task *t;
    task_new(loop, &t, ping, "ping", &rounds, __FILE__, __LINE__);
    aio_handle_cancel(&t->handle); /* resumed by hand, not by the loop */
    resume(t);                     /* the first step: map the stack, start */
    double t0 = clock_now();
    for (long i = 1; i < rounds; i++)
        resume(t);
    double t1 = clock_now();
    resume(t); /* ping returns */
    if (t->state != TASK_DONE)
        die("aio_switch_ns: the task did not finish");
    task_free(t);
    aio_loop_close(loop);
    return (t1 - t0) * 1e9 / (double)(2 * (rounds - 1));
}

const char *aio_switch_kind(void)
{
    return AIO_UCONTEXT ? "ucontext" : "asm";
}
