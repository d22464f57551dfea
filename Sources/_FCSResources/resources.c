/* Embeds the files of include/ with the assembler's .incbin (found through the -I path SwiftPM
 * passes for this target's include/ folder). */
#include "fcs_resources.h"

__asm__(".section .rodata.fcs_resources,\"a\",@progbits\n"
        ".global fcs_clip_bpe_vocabulary_gz\n"
        ".type fcs_clip_bpe_vocabulary_gz, @object\n"
        ".balign 16\n"
        "fcs_clip_bpe_vocabulary_gz:\n"
        ".incbin \"bpe_simple_vocab_16e6.txt.gz\"\n"
        "fcs_clip_bpe_vocabulary_gz_end:\n"
        ".global fcs_clip_bpe_vocabulary_gz_size\n"
        ".type fcs_clip_bpe_vocabulary_gz_size, @object\n"
        ".balign 8\n"
        "fcs_clip_bpe_vocabulary_gz_size:\n"
        ".quad fcs_clip_bpe_vocabulary_gz_end - fcs_clip_bpe_vocabulary_gz\n"
        ".text\n");
