#!/usr/bin/env python3
"""S3LSpeech teacher-student pretraining (README.md): ``python train.py
hparams/s3lspeech.yaml``. Libri-Light's train.py links to this file."""

import functools

from summary_ssl.brains.recipe import run_pretraining
from summary_ssl.brains.teacher_student import TeacherStudentBrain

main = functools.partial(run_pretraining, TeacherStudentBrain)

if __name__ == "__main__":
    main()
