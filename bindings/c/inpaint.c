/* Inpaint an image with libfcs, the smallest complete C program.
 *
 *   cc inpaint.c $(pkg-config --cflags --libs fcs vips) -o fcs-inpaint-example
 *   ./fcs-inpaint-example MODEL in.png mask.png out.png [steps]
 *
 * libvips reads and writes the files (any format it knows); fcs sees raw U8 RGB buffers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcs.h>
#include <vips/vips.h>

/* fcs calls this before every network forward (the step repeats) and after each step: print
 * each step once. */
struct progress_printer {
	FILE *file;
	int32_t last_step;
};

static int
progress(int32_t step, int32_t total, void *user_data)
{
	struct progress_printer *printer = user_data;

	if (step != printer->last_step) {
		printer->last_step = step;
		fprintf(printer->file, "step %d/%d\n", step, total);
	}
	return 0; /* non-zero would cancel */
}

/* An 8-bit sRGB (bands 3) or grey (bands 1) copy of file's pixels, packed: the caller frees
 * ->data with g_free. 0, or -1 with a vips error. */
static int
read_image(const char *file, int bands, fcs_image *image)
{
	VipsImage *in, *converted, *extracted, *bytes;
	size_t size;

	if (!(in = vips_image_new_from_file(file, "access", VIPS_ACCESS_SEQUENTIAL, NULL)))
		return -1;
	if (vips_colourspace(in, &converted, bands == 1 ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB, NULL)) {
		g_object_unref(in);
		return -1;
	}
	g_object_unref(in);
	if (vips_extract_band(converted, &extracted, 0, "n", bands, NULL)) {
		g_object_unref(converted);
		return -1;
	}
	g_object_unref(converted);
	if (vips_cast_uchar(extracted, &bytes, NULL)) {
		g_object_unref(extracted);
		return -1;
	}
	g_object_unref(extracted);
	image->width = bytes->Xsize;
	image->height = bytes->Ysize;
	image->channels = bands;
	image->format = FCS_PIXEL_U8;
	image->stride = 0;
	image->data = vips_image_write_to_memory(bytes, &size);
	g_object_unref(bytes);
	return image->data ? 0 : -1;
}

/* Writes fcs's 8-bit result to file (any format vips knows by the suffix). 0, or -1 with a vips error. */
static int
write_image(const fcs_image *image, const char *file)
{
	VipsImage *result = vips_image_new_from_memory(image->data, (size_t) image->height * image->stride,
		image->width, image->height, image->channels, VIPS_FORMAT_UCHAR);
	int status;

	if (!result)
		return -1;
	status = vips_image_write_to_file(result, file, NULL);
	g_object_unref(result);
	return status;
}

int
main(int argc, char **argv)
{
	fcs_image image = { 0 }, mask = { 0 }, out = { 0 };
	fcs_model *model = NULL;
	fcs_sample_params params = fcs_sample_params_default();
	struct progress_printer printer = { stdout, 0 };
	fcs_status status;
	int written;

	if (argc < 5) {
		fprintf(stderr, "usage: %s MODEL IN MASK OUT [STEPS]\n", argv[0]);
		return 2;
	}
	if (VIPS_INIT(argv[0]))
		vips_error_exit(NULL);
	printf("fcs %s\n", fcs_version());

	if (read_image(argv[2], 3, &image) || read_image(argv[3], 1, &mask))
		vips_error_exit(NULL);
	if ((status = fcs_model_load(argv[1], NULL, &model)) != FCS_OK) {
		fprintf(stderr, "error %d: %s\n", status, fcs_last_error());
		return 1;
	}
	params.seed = 42;
	params.steps = argc > 5 ? atoi(argv[5]) : 20; /* fcs checks the range */
	params.progress = progress;
	params.user_data = &printer;
	status = fcs_inpaint(model, &image, &mask, &params, &out);
	fcs_model_free(model);
	g_free(image.data);
	g_free(mask.data);
	if (status != FCS_OK) {
		fprintf(stderr, "error %d: %s\n", status, fcs_last_error());
		return 1;
	}
	written = write_image(&out, argv[4]);
	fcs_image_free(&out);
	if (written)
		vips_error_exit(NULL);
	vips_shutdown();
	return 0;
}
