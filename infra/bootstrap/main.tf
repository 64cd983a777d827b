# The shared back-end of deployer: one S3 bucket (release records and Pulumi
# state) and one DynamoDB table (locks) for every team. The same settings as
# `deployer init --create`, for platform teams who manage AWS with Terraform.
#
#   terraform init && terraform apply -var bucket=company-deployer-state -var table=company-deployer-locks
#
# Then tell teams the bucket, table and region (`terraform output`), and give
# the role they deploy with the policy in `deployer_policy_json`.

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

variable "bucket" {
  description = "Name of the S3 bucket for release records and Pulumi state."
  type        = string
}

variable "table" {
  description = "Name of the DynamoDB table for locks."
  type        = string
}

variable "region" {
  description = "AWS region of the bucket and table."
  type        = string
  default     = "us-east-1"
}

variable "noncurrent_version_days" {
  description = "Days to keep old versions of state objects."
  type        = number
  default     = 90
}

provider "aws" {
  region = var.region
}

resource "aws_s3_bucket" "state" {
  bucket = var.bucket
  tags   = { "deployer:role" = "state" }
}

# Every release record and Pulumi checkpoint keeps its history.
resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  ignore_public_acls      = true
  block_public_policy     = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    id     = "expire-old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
  }
}

# Refuse plain HTTP.
resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.state.arn, "${aws_s3_bucket.state.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
}

resource "aws_dynamodb_table" "locks" {
  name         = var.table
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "LockID"

  attribute {
    name = "LockID"
    type = "S"
  }

  # Stale locks (a deployer that was killed) are swept eventually; deployer
  # itself treats an expired lock as free before the sweep.
  ttl {
    attribute_name = "expires"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  tags = { "deployer:role" = "locks" }
}

# What a role that runs deployer needs on the back-end (add the permissions of
# what it deploys separately).
data "aws_iam_policy_document" "deployer" {
  statement {
    sid       = "Locks"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Scan"]
    resources = [aws_dynamodb_table.locks.arn]
  }
  statement {
    sid       = "StateBucket"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [aws_s3_bucket.state.arn]
  }
  statement {
    sid       = "StateObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.state.arn}/*"]
  }
}

output "bucket" {
  value = aws_s3_bucket.state.id
}

output "table" {
  value = aws_dynamodb_table.locks.name
}

output "region" {
  value = var.region
}

output "deployer_policy_json" {
  description = "IAM policy for the roles that run deployer."
  value       = data.aws_iam_policy_document.deployer.json
}

output "init_command" {
  description = "What each developer runs once."
  value       = "deployer init --bucket ${aws_s3_bucket.state.id} --table ${aws_dynamodb_table.locks.name} --region ${var.region}"
}
