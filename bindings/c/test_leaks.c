/* Memory does not grow with use: loads the model, inpaints (1 step, K = 1) and frees both, 50
 * times in one process, printing the resident set size every 5 rounds (/proc/self/statm).
 *   test_leaks MODEL_FOLDER
 * Fails if the RSS after round 50 exceeds the RSS after round 10 by more than MARGIN_MIB: by
 * then allocator pools, thread stacks and lazily built tables have reached their size, and one
 * leaked model (a few MiB for the tiny one) a round would add far more. Under AddressSanitizer
 * (whose quarantine holds freed memory) the curve is printed but not judged; its leak checker
 * judges instead.
 * Built by bindings/c/test.sh from a staged install with `pkg-config --cflags --libs fcs`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcs.h>

#define ROUNDS 50
#define MARGIN_MIB 8.0

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static uint8_t pixels[48][64][3];
static uint8_t mask_pixels[48][64];

/* Resident set size in MiB, or -1. */
static double
resident_mib(void)
{
	long size, resident;
	FILE *statm = fopen("/proc/self/statm", "r");
	int read;

	if (!statm)
		return -1;
	read = fscanf(statm, "%ld %ld", &size, &resident);
	if (fclose(statm) != 0 || read != 2)
		return -1;
	return (double) resident * (double) sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

/* One round: load, inpaint, free. 0 on success; prints the error otherwise. */
static int
round_trip(const char *path, int round)
{
	fcs_model *model = NULL;
	fcs_image image = { 64, 48, 3, FCS_PIXEL_U8, 0, pixels }, mask = { 64, 48, 1, FCS_PIXEL_U8, 0, mask_pixels };
	fcs_image out = { 0 };
	fcs_sample_params params = fcs_sample_params_default();
	fcs_status status;

	if ((status = fcs_model_load(path, NULL, &model)) != FCS_OK) {
		printf("FAIL round %d: fcs_model_load gave %d: %s\n", round, status, fcs_last_error());
		return -1;
	}
	params.steps = 1;
	params.newton_steps = 1;
	params.seed = (uint64_t) round;
	status = fcs_inpaint(model, &image, &mask, &params, &out);
	if (status != FCS_OK)
		printf("FAIL round %d: fcs_inpaint gave %d: %s\n", round, status, fcs_last_error());
	fcs_image_free(&out);
	fcs_model_free(model);
	return status == FCS_OK ? 0 : -1;
}

int
main(int argc, char **argv)
{
	double curve[ROUNDS + 1], growth;
	int round, x, y;

	if (argc != 2) {
		fprintf(stderr, "usage: %s MODEL_FOLDER\n", argv[0]);
		return 2;
	}
	for (y = 0; y < 48; y++)
		for (x = 0; x < 64; x++) {
			pixels[y][x][0] = (uint8_t) (x * 4);
			pixels[y][x][1] = (uint8_t) (y * 5);
			pixels[y][x][2] = (uint8_t) (x + y);
			mask_pixels[y][x] = x >= 24 && x < 40 && y >= 8 && y < 32 ? 255 : 0;
		}
	if ((curve[0] = resident_mib()) < 0) {
		printf("FAIL: cannot read /proc/self/statm\n");
		return 1;
	}
	printf("RSS (MiB) after round:");
	for (round = 1; round <= ROUNDS; round++) {
		if (round_trip(argv[1], round) != 0)
			return 1;
		curve[round] = resident_mib();
		if (round % 5 == 0)
			printf(" %d: %.1f", round, curve[round]);
	}
	printf(" (before: %.1f)\n", curve[0]);
	growth = curve[ROUNDS] - curve[10];
	printf("%s: rounds 10 → %d grew %.2f MiB (margin %.0f MiB)\n", argv[0], ROUNDS, growth, MARGIN_MIB);
	if (UNDER_ASAN) {
		printf("%s: AddressSanitizer's quarantine holds freed memory: growth not judged\n", argv[0]);
		return 0;
	}
	if (curve[10] < 0 || curve[ROUNDS] < 0 || growth > MARGIN_MIB) {
		printf("FAIL: RSS grew by %.2f MiB from round 10 to round %d\n", growth, ROUNDS);
		return 1;
	}
	return 0;
}
