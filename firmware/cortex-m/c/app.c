/* C code in the Cortex-M3 firmware: it allocates with malloc and friends,
 * which the firmware exports over the same heap as Rust's Box and Vec
 * (allocator-malloc's export_c_abi!). Each check returns its number on
 * failure; c_heap_checks returns 0 when all passed. Built with
 * arm-none-eabi-gcc against newlib's headers only: the allocation
 * functions and __errno come from the Rust side, memcpy and memset from
 * the Rust compiler's builtins. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t malloc_usable_size(void *ptr);

struct node {
    struct node *next;
    uint32_t value;
    size_t len;
    unsigned char name[];
};

/* Sizes the compiler cannot see through (it would reject the calls). */
static volatile size_t half_the_address_space = SIZE_MAX / 2;

static unsigned char byte_of(uint32_t i, size_t j) { return (unsigned char)(i * 31u + j * 7u + 1u); }

/* A list of nodes of many sizes, each filled whole; checked, then freed. */
static int list(uint32_t *sum) {
    struct node *head = NULL;
    for (uint32_t i = 0; i < 120; i++) {
        size_t len = 1 + (i * 37u) % 300u;
        struct node *n = malloc(sizeof *n + len);
        if (n == NULL) return 1;
        if (malloc_usable_size(n) < sizeof *n + len) return 2;
        n->next = head;
        n->value = i;
        n->len = len;
        for (size_t j = 0; j < len; j++) n->name[j] = byte_of(i, j);
        head = n;
    }
    while (head != NULL) {
        struct node *next = head->next;
        for (size_t j = 0; j < head->len; j++)
            if (head->name[j] != byte_of(head->value, j)) return 3;
        *sum += head->value;
        free(head);
        head = next;
    }
    return 0;
}

/* An array grown by realloc keeps its contents. */
static int grow(uint32_t *sum) {
    uint32_t *a = NULL;
    for (uint32_t n = 1; n <= 2000; n += 1 + n / 4) {
        uint32_t *b = realloc(a, n * sizeof *b);
        if (b == NULL) return 10;
        a = b;
        a[n - 1] = n;
        for (uint32_t k = 1; k < n; k = k + 1 + k / 4)
            if (a[k - 1] != k) return 11;
    }
    *sum += a[0];
    free(a);
    return 0;
}

/* calloc zeroes memory a previous block dirtied, and checks its product. */
static int zeroed(void) {
    unsigned char *dirty = malloc(512);
    if (dirty == NULL) return 20;
    memset(dirty, 0xa5, 512);
    free(dirty);
    uint32_t *z = calloc(128, sizeof *z);
    if (z == NULL) return 21;
    for (int i = 0; i < 128; i++)
        if (z[i] != 0) return 22;
    free(z);
    errno = 0;
    if (calloc(half_the_address_space, 4) != NULL || errno != ENOMEM) return 23;
    return 0;
}

/* The C and POSIX alignment rules, and out of memory as NULL + ENOMEM. */
static int rules(void) {
    void *p = aligned_alloc(64, 128);
    if (p == NULL || (uintptr_t)p % 64 != 0) return 30;
    free(p);
    void *q = NULL;
    if (posix_memalign(&q, 3, 8) != EINVAL) return 31;
    if (posix_memalign(&q, 256, 100) != 0 || (uintptr_t)q % 256 != 0) return 32;
    free(q);
    errno = 0;
    if (malloc(half_the_address_space) != NULL || errno != ENOMEM) return 33;
    free(NULL);
    void *r = malloc(0);
    if (r == NULL) return 34;
    free(r);
    if (realloc(malloc(16), 0) != NULL) return 35;
    return 0;
}

int c_heap_checks(uint32_t *sum) {
    int failed;
    if ((failed = list(sum)) != 0) return failed;
    if ((failed = grow(sum)) != 0) return failed;
    if ((failed = zeroed()) != 0) return failed;
    return rules();
}
