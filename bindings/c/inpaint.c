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

static int
progress(int32_t step, int32_t total, void *user_data)
{
	fprintf((FILE *) user_data, "step %d/%d\n", step, total);
	return 0; /* non-zero would cancel */
}

/* An 8-bit sRGB copy of file's pixels, packed: the caller frees ->data with g_free. */
static int
read_image(const char *file, int bands, fcs_image *image)
{
	VipsImage *in, *x;
	size_t size;

	if (!(in = vips_image_new_from_file(file, "access", VIPS_ACCESS_SEQUENTIAL, NULL)))
		return -1;
	if (vips_colourspace(in, &x, bands == 1 ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB, NULL)) {
		g_object_unref(in);
		return -1;
	}
	g_object_unref(in);
	if (vips_extract_band(x, &in, 0, "n", bands, NULL) || vips_cast_uchar(in, &x, NULL))
		return -1;
	image->width = x->Xsize;
	image->height = x->Ysize;
	image->channels = bands;
	image->format = FCS_PIXEL_U8;
	image->stride = 0;
	image->data = vips_image_write_to_memory(x, &size);
	g_object_unref(x);
	g_object_unref(in);
	return image->data ? 0 : -1;
}

int
main(int argc, char **argv)
{
	fcs_image image = { 0 }, mask = { 0 }, out = { 0 };
	fcs_model *model = NULL;
	fcs_sample_params params = fcs_sample_params_default();
	VipsImage *result;

	if (argc < 5) {
		fprintf(stderr, "usage: %s MODEL IN MASK OUT [STEPS]\n", argv[0]);
		return 2;
	}
	if (VIPS_INIT(argv[0]))
		vips_error_exit(NULL);
	printf("fcs %s\n", fcs_version());

	if (read_image(argv[2], 3, &image) || read_image(argv[3], 1, &mask))
		vips_error_exit(NULL);
	if (fcs_model_load(argv[1], NULL, &model) != FCS_OK) {
		fprintf(stderr, "error: %s\n", fcs_last_error());
		return 1;
	}
	params.seed = 42;
	params.steps = argc > 5 ? atoi(argv[5]) : 20;
	params.progress = progress;
	params.user_data = stdout;
	if (fcs_inpaint(model, &image, &mask, &params, &out) != FCS_OK) {
		fprintf(stderr, "error: %s\n", fcs_last_error());
		fcs_model_free(model);
		return 1;
	}
	result = vips_image_new_from_memory(out.data, (size_t) out.height * out.stride, out.width, out.height,
		out.channels, VIPS_FORMAT_UCHAR);
	if (vips_image_write_to_file(result, argv[4], NULL))
		vips_error_exit(NULL);
	g_object_unref(result);

	fcs_image_free(&out);
	g_free(image.data);
	g_free(mask.data);
	fcs_model_free(model);
	vips_shutdown();
	return 0;
}
