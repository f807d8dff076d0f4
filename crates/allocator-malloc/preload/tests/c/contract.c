/* The C contract of the preloaded allocator, checked from C: run with
 * LD_PRELOAD of the library (tests/contract.rs does). Prints "all passed"
 * and exits 0, or names the first broken rule and exits 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The failed reallocs below leave their block live, as C says; GCC 12+
 * warns about any use after a realloc. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wuse-after-free"
#endif

static int failures;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                      \
        }                                                                    \
    } while (0)

static int aligned(void *p, size_t a) { return ((uintptr_t)p % a) == 0; }

/* Opaque to the compiler, so that it cannot fold away a call whose
 * result it thinks it knows (malloc(SIZE_MAX) is "always NULL"). */
static volatile size_t huge = SIZE_MAX;

static void basics(void) {
    char *p = malloc(100);
    CHECK(p && aligned(p, 16));
    size_t usable = malloc_usable_size(p);
    CHECK(usable >= 100);
    memset(p, 0xAB, usable);
    free(p);
    free(NULL);

    void *z = malloc(0);
    CHECK(z != NULL);
    free(z);

    errno = 0;
    CHECK(malloc(huge) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(malloc(huge / 2) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(malloc((size_t)1 << 40) == NULL && errno == ENOMEM);

    for (size_t n = 1; n < 70000; n = n * 3 + 1) {
        unsigned char *b = malloc(n);
        CHECK(b && malloc_usable_size(b) >= n);
        memset(b, 0x5A, malloc_usable_size(b));
        free(b);
    }
}

static void zeroed_and_overflow(void) {
    unsigned char *c = calloc(1000, 10);
    CHECK(c != NULL);
    int zero = 1;
    for (size_t i = 0; i < 10000; i++) zero &= c[i] == 0;
    CHECK(zero);
    memset(c, 0xFF, 10000);
    free(c);
    c = calloc(1000, 10); /* likely the same memory, dirty */
    zero = 1;
    for (size_t i = 0; i < 10000; i++) zero &= c[i] == 0;
    CHECK(zero);
    free(c);

    errno = 0;
    CHECK(calloc(huge / 2, 3) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(calloc(3, huge / 2) == NULL && errno == ENOMEM);
}

static void resizing(void) {
    char *p = realloc(NULL, 10);
    CHECK(p != NULL);
    memcpy(p, "0123456789", 10);
    for (size_t n = 11; n < 200000; n *= 2) {
        p = realloc(p, n);
        CHECK(p && memcmp(p, "0123456789", 10) == 0);
    }
    p = realloc(p, 5);
    CHECK(p && memcmp(p, "01234", 5) == 0);
    /* glibc: realloc(p, 0) frees p and returns NULL. */
    CHECK(realloc(p, 0) == NULL);

    char *q = malloc(32);
    strcpy(q, "kept");
    errno = 0;
    CHECK(realloc(q, huge) == NULL && errno == ENOMEM);
    CHECK(strcmp(q, "kept") == 0); /* untouched on failure */
    errno = 0;
    CHECK(reallocarray(q, huge / 2, 3) == NULL && errno == ENOMEM);
    CHECK(strcmp(q, "kept") == 0);
    q = reallocarray(q, 100, 10);
    CHECK(q && strcmp(q, "kept") == 0 && malloc_usable_size(q) >= 1000);
    free(q);
}

static void alignment(void) {
    for (size_t a = 1; a <= 65536; a *= 2) {
        void *p = aligned_alloc(a, 3 * a);
        CHECK(p && aligned(p, a));
        memset(p, 1, 3 * a);
        free(p);
        p = memalign(a, 5);
        CHECK(p && aligned(p, a));
        free(p);
        if (a >= sizeof(void *)) {
            void *r = NULL;
            CHECK(posix_memalign(&r, a, 7) == 0 && r && aligned(r, a));
            CHECK(malloc_usable_size(r) >= 7);
            r = realloc(r, 100000);
            CHECK(r != NULL);
            free(r);
        }
    }
    void *r = (void *)0x1;
    CHECK(posix_memalign(&r, 3, 8) == EINVAL && r == (void *)0x1);
    CHECK(posix_memalign(&r, sizeof(void *) / 2, 8) == EINVAL);
    CHECK(posix_memalign(&r, 0, 8) == EINVAL);
    CHECK(posix_memalign(&r, 64, huge) == ENOMEM);
    CHECK(posix_memalign(&r, 64, 0) == 0 && r != NULL);
    free(r);
    /* glibc 2.38's rule (older glibc accepts any alignment here). */
    errno = 0;
    CHECK(aligned_alloc(3, 8) == NULL && errno == EINVAL);
    void *m = memalign(48, 10); /* rounded up to 64, as glibc does */
    CHECK(m && aligned(m, 64));
    free(m);
    long page = sysconf(_SC_PAGESIZE);
    void *v = valloc(10);
    CHECK(v && aligned(v, page));
    free(v);
    v = pvalloc(10);
    CHECK(v && aligned(v, page) && malloc_usable_size(v) >= (size_t)page);
    free(v);
}

/* Threads allocate blocks and free each other's through shared slots. */
#define SLOTS 4096
#define THREADS 4
static _Atomic(void *) slots[SLOTS];

static void *swapper(void *arg) {
    unsigned x = (unsigned)(uintptr_t)arg * 2654435761u + 1;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        size_t n = 1 + x % (i % 64 == 0 ? 20000 : 300);
        unsigned char *p = malloc(n);
        if (!p) return (void *)1;
        p[0] = (unsigned char)n, p[n - 1] = (unsigned char)n;
        unsigned char *old = atomic_exchange(&slots[x % SLOTS], p);
        if (old) {
            size_t u = malloc_usable_size(old);
            if (u == 0) return (void *)1;
            free(old);
        }
    }
    return NULL;
}

static void threads(void) {
    pthread_t t[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, swapper, (void *)(i + 1));
    for (int i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        CHECK(r == NULL);
    }
    for (int i = 0; i < SLOTS; i++) free(atomic_exchange(&slots[i], NULL));
}

/* Fork while other threads allocate: the child's heap must be usable. */
static atomic_int stop;

static void *churn(void *arg) {
    (void)arg;
    while (!atomic_load(&stop)) {
        void *p[16];
        for (int i = 0; i < 16; i++) p[i] = malloc(16 + i * 100);
        for (int i = 0; i < 16; i++) free(p[i]);
        void *big = malloc(100000);
        free(big);
    }
    return NULL;
}

static void forking(void) {
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, churn, NULL);
    for (int round = 0; round < 50; round++) {
        pid_t pid = fork();
        if (pid == 0) {
            alarm(10); /* a child stuck on a lock dies instead of hanging */
            for (int i = 0; i < 1000; i++) {
                char *p = malloc(1 + i * 7);
                if (!p) _exit(2);
                memset(p, 1, 1 + i * 7);
                free(p);
            }
            void *big = malloc(1 << 20);
            _exit(big ? 0 : 3);
        }
        CHECK(pid > 0);
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) break;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
}

int main(void) {
    alarm(60);
    basics();
    zeroed_and_overflow();
    resizing();
    alignment();
    threads();
    forking();
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    puts("all passed");
    return 0;
}
