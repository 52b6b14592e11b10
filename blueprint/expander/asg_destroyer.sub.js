const { AutoScalingClient, DeleteAutoScalingGroupCommand } = require("@aws-sdk/client-auto-scaling");
const autoscaling = new AutoScalingClient({ region: '${AWS::Region}' });
const response = require('cfn-response');

exports.handler = async function(event, context) {
  console.log(event);

  if (event.RequestType !== "Delete") {
    await response.send(event, context, response.SUCCESS);
    return;
  }

  const input = {
    AutoScalingGroupName: '${ECSAutoScalingGroup}',
    ForceDelete: true
  };
  const command = new DeleteAutoScalingGroupCommand(input);
  const deleteResponse = await autoscaling.send(command);
  console.log(deleteResponse);

  await response.send(event, context, response.SUCCESS);
};
