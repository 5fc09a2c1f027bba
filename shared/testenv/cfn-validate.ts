// What cfn-lint cannot know about our templates: the tests run the real
// cfn-lint on them (test/unit/testenv-templates.test.ts) for everything else.

/** `aws cloudformation deploy --template-file` sends the body inline up to this size; beyond it needs an S3 bucket. */
export const TEMPLATE_BODY_LIMIT = 51_200;

/** A rendered template must deploy without an S3 bucket, as the generated scripts deploy it. */
export function templateSizeProblem(name: string, bytes: number): string | undefined {
  return bytes > TEMPLATE_BODY_LIMIT
    ? `${name}: ${bytes} bytes exceeds the ${TEMPLATE_BODY_LIMIT}-byte inline limit of aws cloudformation deploy`
    : undefined;
}
